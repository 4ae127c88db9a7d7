//! `estimate`: one series, several estimators, a table or JSON.

use std::process::ExitCode;

use anyhow::{Context, Result};
use lrdbench_host::data::{read_series, ColumnSelector};
use lrdbench_host::estimate::{agreement, resolve_params, run_all, select, EstimateRow, RawParam};
use lrdbench_host::invoke::{CallContext, Invoker};
use lrdbench_host::settings::Settings;
use serde_json::{json, Value};

use crate::cli::estimate::EstimateArgs;

pub fn run(settings: &Settings, args: EstimateArgs, invoker: &Invoker) -> Result<ExitCode> {
    let raw: Vec<RawParam> = args
        .params
        .iter()
        .map(|p| RawParam::parse(p))
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    let catalog = super::load_catalog(settings)?;
    let invoker = super::isolate(
        invoker.clone(),
        settings,
        &catalog,
        args.isolate,
        args.timeout,
    )?;
    let invoker = &invoker;
    let handles = select(&catalog, &args.estimator)?;
    let params = resolve_params(&handles, &raw)?;
    let column = args.column.as_deref().map(ColumnSelector::parse);
    let series = read_series(&args.file, column.as_ref()).context("cannot read the series")?;
    let rows = run_all(invoker, &handles, &params, &series, &CallContext::default());
    let agree = agreement(&rows);
    if args.json {
        let out: Vec<Value> = rows.iter().map(row_json).collect();
        let doc = json!({ "n": series.len(), "estimates": out, "agreement": agree });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print_table(&rows, series.len());
        println!("{}", agree.line());
    }
    let failed = rows.iter().any(|r| r.outcome.is_err());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn row_json(r: &EstimateRow) -> Value {
    match &r.outcome {
        Ok(e) => {
            let ci = e.ci.into_option();
            json!({
                "estimator": r.estimator,
                "estimand": e.estimand.as_str(),
                "value": e.value,
                "stderr": e.stderr.into_option(),
                "ci_low": ci.map(|c| c.low),
                "ci_high": ci.map(|c| c.high),
                "ci_level": ci.map(|c| c.level),
                "r_squared": e.r_squared.into_option(),
                "warnings": e.warnings.iter().map(|w| w.as_str()).collect::<Vec<_>>(),
                "error": Value::Null,
                "elapsed_ms": r.elapsed_ms,
            })
        }
        Err(err) => json!({
            "estimator": r.estimator,
            "estimand": r.estimand,
            "value": Value::Null,
            "stderr": Value::Null,
            "ci_low": Value::Null,
            "ci_high": Value::Null,
            "ci_level": Value::Null,
            "r_squared": Value::Null,
            "warnings": Vec::<String>::new(),
            "error": {"kind": err.kind.as_str(), "message": err.message},
            "elapsed_ms": r.elapsed_ms,
        }),
    }
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "-".into())
}

fn print_table(rows: &[EstimateRow], n: usize) {
    println!("n = {n}");
    println!(
        "{:<16} {:<8} {:>8}  {:<19} {:>8} {:>7} {:>10}",
        "ESTIMATOR", "ESTIMAND", "VALUE", "95% CI", "STDERR", "R²", "TIME"
    );
    for r in rows {
        match &r.outcome {
            Ok(e) => {
                let ci =
                    e.ci.into_option()
                        .map(|c| format!("[{:.4}, {:.4}]", c.low, c.high))
                        .unwrap_or_else(|| "-".into());
                println!(
                    "{:<16} {:<8} {:>8.4}  {:<19} {:>8} {:>7} {:>8.2}ms",
                    r.estimator,
                    e.estimand.as_str(),
                    e.value,
                    ci,
                    fmt_opt(e.stderr.into_option(), 4),
                    fmt_opt(e.r_squared.into_option(), 3),
                    r.elapsed_ms
                );
                for w in e.warnings.iter() {
                    println!("{:<16} warning: {w}", "");
                }
            }
            Err(err) => println!(
                "{:<16} {:<8} error: {} ({})",
                r.estimator, r.estimand, err.message, err.kind
            ),
        }
    }
}
