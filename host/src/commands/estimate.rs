//! `estimate`: one series, several estimators, a table or JSON.

use std::process::ExitCode;

use anyhow::Result;
use lrdbench_host::data::{read_series_with, ColumnSelector, DataError};
use lrdbench_host::estimate::{
    agreement, resolve_params, run_all, run_each, select, EstimateRow, RawParam,
};
use lrdbench_host::invoke::{CallContext, Invoker};
use lrdbench_host::settings::Settings;
use lrdbench_plugin_api::CiMethod;
use serde_json::{json, Value};

use crate::cli::estimate::EstimateArgs;

pub fn run(settings: &Settings, args: EstimateArgs, invoker: &Invoker) -> Result<ExitCode> {
    let raw: Vec<RawParam> = args
        .params
        .iter()
        .map(|p| RawParam::parse(p))
        .collect::<Result<_, _>>()
        .map_err(|e| super::usage(anyhow::Error::msg(e)))?;
    let catalog = super::load_catalog(settings, args.isolate || args.timeout.is_some())?;
    let invoker = super::isolate(
        invoker.clone(),
        settings,
        &catalog,
        args.isolate,
        args.timeout,
    )?;
    let invoker = &invoker;
    let handles = select(&catalog, &args.estimator).map_err(super::usage)?;
    let params = resolve_params(&handles, &raw).map_err(super::usage)?;
    let column = args.column.as_deref().map(ColumnSelector::parse);
    let series =
        read_series_with(&args.file, column.as_ref(), args.missing.into()).map_err(|e| {
            let usage = matches!(e, DataError::NoColumn { .. });
            let e = anyhow::Error::new(e).context("cannot read the series");
            if usage {
                super::usage(e)
            } else {
                e
            }
        })?;
    let ctx = CallContext::default();
    let failed;
    if args.json {
        let rows = run_all(invoker, &handles, &params, &series, &ctx);
        failed = rows.iter().any(|r| r.outcome.is_err());
        let out: Vec<Value> = rows.iter().map(row_json).collect();
        let agree = agreement(&rows);
        let doc = json!({ "n": series.len(), "estimates": out, "agreement": agree });
        outln!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        // Each row is printed as its call returns: a plugin that crashes an in-process host
        // loses only its own row.
        print_header(series.len(), &ci_header(&raw))?;
        let mut rows = Vec::with_capacity(handles.len());
        // On a terminal, a spinner names the estimator running (long series take seconds);
        // rows print above it as they come.
        let bar = super::generate::terminal_bar(handles.len() as u64, "estimating", settings, true);
        let next = |i: usize| {
            handles
                .get(i)
                .map_or(String::new(), |h| h.name().to_string())
        };
        bar.set_message(next(0));
        let printed = run_each(invoker, &handles, &params, &series, &ctx, |row| {
            rows.push(row.clone());
            bar.inc(1);
            bar.set_message(next(rows.len()));
            bar.suspend(|| print_row(row))
        });
        bar.finish_and_clear();
        printed?;
        failed = rows.iter().any(|r| r.outcome.is_err());
        outln!("{}", agreement(&rows).line());
    }
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
                "ci_method": CiMethod::name_of(ci.as_ref()),
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
            "ci_method": Value::Null,
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

/// The header of the interval column: the level every estimator is asked for (the shared
/// `level` parameter, 0.95 unless `-p level=…` says otherwise), e.g. `90% CI`.
fn ci_header(raw: &[RawParam]) -> String {
    let level = raw
        .iter()
        .rev()
        .find(|p| p.name == "level")
        .and_then(|p| p.value.parse::<f64>().ok())
        .unwrap_or(0.95);
    let pct = format!("{:.1}", level * 100.0);
    format!("{}% CI", pct.trim_end_matches(".0"))
}

fn print_header(n: usize, ci: &str) -> Result<()> {
    outln!("n = {n}");
    outln!(
        "{:<16} {:<8} {:>8}  {:<19} {:<10} {:>8} {:>7} {:>10}",
        "ESTIMATOR",
        "ESTIMAND",
        "VALUE",
        ci,
        "CI METHOD",
        "STDERR",
        "R²",
        "TIME"
    );
    Ok(())
}

fn print_row(r: &EstimateRow) -> Result<()> {
    {
        match &r.outcome {
            Ok(e) => {
                let interval = e.ci.into_option();
                let ci = interval
                    .map(|c| format!("[{:.4}, {:.4}]", c.low, c.high))
                    .unwrap_or_else(|| "-".into());
                outln!(
                    "{:<16} {:<8} {:>8.4}  {:<19} {:<10} {:>8} {:>7} {:>8.2}ms",
                    r.estimator,
                    e.estimand.as_str(),
                    e.value,
                    ci,
                    CiMethod::name_of(interval.as_ref()),
                    fmt_opt(e.stderr.into_option(), 4),
                    fmt_opt(e.r_squared.into_option(), 3),
                    r.elapsed_ms
                );
                for w in e.warnings.iter() {
                    outln!("{:<16} warning: {w}", "");
                }
            }
            Err(err) => outln!(
                "{:<16} {:<8} error: {} ({})",
                r.estimator,
                r.estimand,
                err.message,
                err.kind
            ),
        }
    }
    Ok(())
}
