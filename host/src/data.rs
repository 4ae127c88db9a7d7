//! Reading series from text: CSV with or without a header, or whitespace-separated numbers.

use std::io::Read;
use std::path::Path;

/// Which column of a table to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnSelector {
    /// By header name.
    Name(String),
    /// By zero-based index.
    Index(usize),
}

impl ColumnSelector {
    /// Parses `NAME` or `INDEX` (a plain non-negative integer is an index).
    pub fn parse(text: &str) -> ColumnSelector {
        match text.parse::<usize>() {
            Ok(i) => ColumnSelector::Index(i),
            Err(_) => ColumnSelector::Name(text.to_string()),
        }
    }
}

/// What to do with missing cells (empty, `NA`, `NaN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Missing {
    /// Keep them as NaN, for a workflow to contaminate or interpolate (estimators reject NaN).
    #[default]
    Keep,
    /// Refuse the series, naming the line of the first missing cell.
    Error,
    /// Leave them out.
    Drop,
    /// Fill interior gaps linearly between their neighbours; leading and trailing missing cells
    /// are left out (there is nothing to interpolate from).
    Interpolate,
}

/// Why a series could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The source could not be read.
    #[error("{source_name}: {error}")]
    Io {
        /// File name or `-`.
        source_name: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A cell is not a number.
    #[error("{source_name}:{line}: column {column}: `{text}` is not a number")]
    NotANumber {
        /// File name or `-`.
        source_name: String,
        /// 1-based line.
        line: u64,
        /// The column read.
        column: String,
        /// The cell.
        text: String,
    },
    /// The first column read is not numeric (a date, a label) but others are.
    #[error("{source_name}:{line}: column {column}: `{text}` is not a number; numeric columns: {numeric} (choose one with --column, or `column =` in a workflow)")]
    NotNumericColumn {
        /// File name or `-`.
        source_name: String,
        /// 1-based line.
        line: u64,
        /// The column read.
        column: String,
        /// The cell.
        text: String,
        /// The columns whose cells on that line are numbers.
        numeric: String,
    },
    /// A missing cell where `--missing error` asks for none.
    #[error("{source_name}:{line}: column {column}: missing value ({count} in all; choose --missing drop or --missing interpolate to accept them)")]
    MissingValue {
        /// File name or `-`.
        source_name: String,
        /// 1-based line of the first missing cell.
        line: u64,
        /// The column read.
        column: String,
        /// How many cells are missing.
        count: usize,
    },
    /// The column does not exist.
    #[error("{source_name}: no column {column} (columns: {available})")]
    NoColumn {
        /// File name or `-`.
        source_name: String,
        /// The selector given.
        column: String,
        /// What exists.
        available: String,
    },
    /// The CSV is malformed.
    #[error("{source_name}: {message}")]
    Malformed {
        /// File name or `-`.
        source_name: String,
        /// What the parser said.
        message: String,
    },
    /// No numbers at all.
    #[error("{source_name}: no values")]
    Empty {
        /// File name or `-`.
        source_name: String,
    },
}

/// The largest data file read: 4 GiB of text.
pub const MAX_DATA_BYTES: u64 = 4 << 30;

/// Reads a series from `path` (`-` is standard input), missing cells kept as NaN.
///
/// # Errors
///
/// [`DataError`] naming the source, and the line and column of a bad cell.
pub fn read_series(path: &Path, column: Option<&ColumnSelector>) -> Result<Vec<f64>, DataError> {
    read_series_with(path, column, Missing::Keep)
}

/// As [`read_series`], with missing cells handled as `missing` says.
///
/// # Errors
///
/// As [`read_series`], and [`DataError::MissingValue`] under [`Missing::Error`].
pub fn read_series_with(
    path: &Path,
    column: Option<&ColumnSelector>,
    missing: Missing,
) -> Result<Vec<f64>, DataError> {
    let name = path.display().to_string();
    let mut text = String::new();
    let res = if name == "-" {
        std::io::stdin().read_to_string(&mut text)
    } else {
        // Only a regular file, bounded: a FIFO or /dev/zero named as data must not hang or
        // fill memory.
        crate::fsutil::read_regular_text(path, MAX_DATA_BYTES)
            .map(|t| {
                text = t;
                text.len()
            })
            .map_err(|e| match e {
                crate::fsutil::ReadError::Io(io) => io,
                crate::fsutil::ReadError::NotFound => {
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such file")
                }
                other => std::io::Error::new(std::io::ErrorKind::InvalidInput, other.to_string()),
            })
    };
    res.map_err(|error| DataError::Io {
        source_name: name.clone(),
        error,
    })?;
    parse_series_with(&text, column, &name, missing)
}

/// Parses a series from text: CSV (comma, semicolon or tab separated, header optional) or
/// whitespace-separated numbers. Empty cells are missing values (NaN), which estimators reject
/// as `invalid_input` unless the workflow interpolates them.
///
/// # Errors
///
/// As [`read_series`].
pub fn parse_series(
    text: &str,
    column: Option<&ColumnSelector>,
    source_name: &str,
) -> Result<Vec<f64>, DataError> {
    parse_series_with(text, column, source_name, Missing::Keep)
}

/// As [`parse_series`], with missing cells handled as `missing` says.
///
/// # Errors
///
/// As [`read_series_with`].
pub fn parse_series_with(
    text: &str,
    column: Option<&ColumnSelector>,
    source_name: &str,
    missing: Missing,
) -> Result<Vec<f64>, DataError> {
    let cells = parse_cells(text, column, source_name)?;
    apply_missing(cells, missing, source_name)
}

/// The cells of the column read, with their 1-based line numbers and the column's name.
struct Cells {
    values: Vec<f64>,
    lines: Vec<u64>,
    column: String,
}

fn apply_missing(cells: Cells, missing: Missing, source_name: &str) -> Result<Vec<f64>, DataError> {
    let Cells {
        mut values,
        lines,
        column,
    } = cells;
    let count = values.iter().filter(|v| v.is_nan()).count();
    if count == 0 || missing == Missing::Keep {
        return Ok(values);
    }
    match missing {
        Missing::Keep => {}
        Missing::Error => {
            let first = values.iter().position(|v| v.is_nan()).unwrap_or(0);
            return Err(DataError::MissingValue {
                source_name: source_name.to_string(),
                line: lines.get(first).copied().unwrap_or(0),
                column,
                count,
            });
        }
        Missing::Drop => values.retain(|v| !v.is_nan()),
        Missing::Interpolate => {
            let known: Vec<usize> = (0..values.len()).filter(|&i| !values[i].is_nan()).collect();
            for pair in known.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                let (ya, yb) = (values[a], values[b]);
                for (k, v) in values[a + 1..b].iter_mut().enumerate() {
                    *v = ya + (yb - ya) * (k + 1) as f64 / (b - a) as f64;
                }
            }
            values = match (known.first(), known.last()) {
                (Some(&lo), Some(&hi)) => values[lo..=hi].to_vec(),
                _ => Vec::new(),
            };
        }
    }
    if values.is_empty() {
        return Err(DataError::Empty {
            source_name: source_name.to_string(),
        });
    }
    Ok(values)
}

fn parse_cells(
    text: &str,
    column: Option<&ColumnSelector>,
    source_name: &str,
) -> Result<Cells, DataError> {
    // Comment lines neither decide the format nor count as a header.
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .unwrap_or("");
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .find(|d| first.as_bytes().contains(d));
    let Some(delimiter) = delimiter else {
        return parse_whitespace(text, column, source_name);
    };
    let has_header = first.split(delimiter as char).any(|c| {
        let c = c.trim();
        !c.is_empty() && c.parse::<f64>().is_err()
    });
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .comment(Some(b'#'))
        .has_headers(has_header)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let malformed = |e: csv::Error| DataError::Malformed {
        source_name: source_name.to_string(),
        message: e.to_string(),
    };
    let headers: Vec<String> = if has_header {
        reader
            .headers()
            .map_err(malformed)?
            .iter()
            .map(String::from)
            .collect()
    } else {
        Vec::new()
    };
    let index = match column {
        // R's write.csv puts unnamed row names first (header `""`): the data is what follows.
        None if headers.len() > 1 && headers[0].is_empty() => 1,
        None => 0,
        Some(ColumnSelector::Index(i)) => *i,
        Some(ColumnSelector::Name(n)) => named_column(&headers, n, source_name)?,
    };
    let column_name = headers
        .get(index)
        .cloned()
        .unwrap_or_else(|| index.to_string());
    let mut cells = Cells {
        values: Vec::new(),
        lines: Vec::new(),
        column: column_name.clone(),
    };
    for record in reader.records() {
        let record = record.map_err(malformed)?;
        let line = record.position().map_or(0, |p| p.line());
        let cell = record.get(index).ok_or_else(|| DataError::NoColumn {
            source_name: source_name.to_string(),
            column: index.to_string(),
            available: format!("{} on line {line}", record.len()),
        })?;
        let value = parse_cell(cell, line, &column_name, source_name).map_err(|e| {
            if column.is_some() {
                return e;
            }
            // The default column is not numeric: say which columns are.
            let numeric: Vec<String> = record
                .iter()
                .enumerate()
                .filter(|(_, c)| c.parse::<f64>().is_ok())
                .map(|(i, _)| {
                    headers
                        .get(i)
                        .filter(|h| !h.is_empty())
                        .map_or_else(|| i.to_string(), |h| format!("`{h}`"))
                })
                .collect();
            match e {
                DataError::NotANumber { text, .. } if !numeric.is_empty() => {
                    DataError::NotNumericColumn {
                        source_name: source_name.to_string(),
                        line,
                        column: column_name.clone(),
                        text,
                        numeric: numeric.join(", "),
                    }
                }
                e => e,
            }
        })?;
        cells.values.push(value);
        cells.lines.push(line);
    }
    if cells.values.is_empty() {
        return Err(DataError::Empty {
            source_name: source_name.to_string(),
        });
    }
    Ok(cells)
}

fn parse_cell(cell: &str, line: u64, column: &str, source_name: &str) -> Result<f64, DataError> {
    // R quotes every cell of write.csv output (`"NA"` included); the csv reader has already
    // removed the quotes, the whitespace reader has not.
    let cell = cell
        .strip_prefix('"')
        .and_then(|c| c.strip_suffix('"'))
        .unwrap_or(cell);
    if cell.is_empty() || cell.eq_ignore_ascii_case("na") || cell.eq_ignore_ascii_case("nan") {
        return Ok(f64::NAN);
    }
    cell.parse::<f64>().map_err(|_| DataError::NotANumber {
        source_name: source_name.to_string(),
        line,
        column: column.to_string(),
        text: cell.chars().take(40).collect(),
    })
}

fn parse_whitespace(
    text: &str,
    column: Option<&ColumnSelector>,
    source_name: &str,
) -> Result<Cells, DataError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l.split_whitespace().collect::<Vec<&str>>()))
        .filter(|(_, f)| !f.is_empty() && !f[0].starts_with('#'))
        .peekable();
    // A first line of non-numeric words is a header (R quotes its names).
    let headers: Vec<String> = match lines.peek() {
        Some((_, f)) if f.iter().all(|w| w.parse::<f64>().is_err()) => {
            let h = f.iter().map(|w| w.trim_matches('"').to_string()).collect();
            lines.next();
            h
        }
        _ => Vec::new(),
    };
    let index = match column {
        None => None,
        Some(ColumnSelector::Index(i)) => Some(*i),
        Some(ColumnSelector::Name(n)) => Some(named_column(&headers, n, source_name)?),
    };
    let column_name = |c: usize| headers.get(c).cloned().unwrap_or_else(|| c.to_string());
    let mut out = Cells {
        values: Vec::new(),
        lines: Vec::new(),
        column: column_name(index.unwrap_or(0)),
    };
    for (line, fields) in lines {
        match index {
            // Without a column, every number of every line, in reading order.
            None => {
                for (c, f) in fields.iter().enumerate() {
                    out.values
                        .push(parse_cell(f, line, &column_name(c), source_name)?);
                    out.lines.push(line);
                }
            }
            Some(c) => {
                let f = fields.get(c).ok_or_else(|| DataError::NoColumn {
                    source_name: source_name.to_string(),
                    column: c.to_string(),
                    available: format!("{} on line {line}", fields.len()),
                })?;
                out.values
                    .push(parse_cell(f, line, &column_name(c), source_name)?);
                out.lines.push(line);
            }
        }
    }
    if out.values.is_empty() {
        return Err(DataError::Empty {
            source_name: source_name.to_string(),
        });
    }
    Ok(out)
}

/// The index of the header `name`, or the error listing the headers there are.
fn named_column(headers: &[String], name: &str, source_name: &str) -> Result<usize, DataError> {
    headers
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| DataError::NoColumn {
            source_name: source_name.to_string(),
            column: format!("`{name}`"),
            available: if headers.is_empty() {
                "no header".into()
            } else {
                headers.join(", ")
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_csv_with_header_by_name() {
        let v = parse_series(
            "t,x\n0,1.5\n1,2.5\n",
            Some(&ColumnSelector::Name("x".into())),
            "d",
        )
        .unwrap();
        assert_eq!(v, vec![1.5, 2.5]);
    }

    #[test]
    fn parse_csv_without_header_by_index() {
        let v = parse_series("0,1.5\n1,2.5\n", Some(&ColumnSelector::Index(1)), "d").unwrap();
        assert_eq!(v, vec![1.5, 2.5]);
    }

    #[test]
    fn parse_whitespace_numbers() {
        let v = parse_series("1 2 3\n4\n", None, "d").unwrap();
        assert_eq!(v, vec![1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn parse_bad_cell_names_line_and_column() {
        let e = parse_series("x\n1\nabc\n", None, "f.csv").unwrap_err();
        assert_eq!(e.to_string(), "f.csv:3: column x: `abc` is not a number");
    }

    #[test]
    fn parse_unknown_column_lists_columns() {
        let e =
            parse_series("a,b\n1,2\n", Some(&ColumnSelector::Name("c".into())), "f").unwrap_err();
        assert_eq!(e.to_string(), "f: no column `c` (columns: a, b)");
    }

    #[test]
    fn parse_empty_cells_are_missing() {
        let v = parse_series("x\n1\n\n3\n", None, "f").unwrap();
        assert_eq!(v, vec![1.0, 3.0], "blank lines are skipped");
        let v = parse_series("x,y\n1,\n2,3\n", Some(&ColumnSelector::Index(1)), "f").unwrap();
        assert!(v[0].is_nan() && v[1] == 3.0);
    }

    #[test]
    fn date_first_column_names_the_numeric_columns() {
        let e = parse_series("date,value,volume\n2010-01-01,1.5,30\n", None, "f.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.csv:2: column date: `2010-01-01` is not a number; numeric columns: `value`, \
             `volume` (choose one with --column, or `column =` in a workflow)"
        );
        // A column chosen explicitly gets the plain message: the user already chose.
        let e = parse_series(
            "date,value\n2010-01-01,x\n",
            Some(&ColumnSelector::Name("value".into())),
            "f.csv",
        )
        .unwrap_err();
        assert!(matches!(e, DataError::NotANumber { .. }), "{e}");
    }

    #[test]
    fn comment_lines_do_not_switch_the_format() {
        let text = "# station 7, daily means\nt,x\n0,1.5\n# gap\n1,2.5\n";
        let v = parse_series(text, Some(&ColumnSelector::Name("x".into())), "f").unwrap();
        assert_eq!(v, vec![1.5, 2.5]);
    }

    #[test]
    fn r_write_csv_output_reads_the_data_column() {
        // write.csv(data.frame(x = c(0.5, NA, 0.7)), "f.csv") writes exactly this.
        let text = "\"\",\"x\"\n\"1\",0.5\n\"2\",NA\n\"3\",0.7\n";
        let v = parse_series(text, None, "f").unwrap();
        assert_eq!(v.len(), 3);
        assert!(v[0] == 0.5 && v[1].is_nan() && v[2] == 0.7, "{v:?}");
        let v = parse_series(text, Some(&ColumnSelector::Name("x".into())), "f").unwrap();
        assert_eq!(v.len(), 3);
        // write.csv(..., row.names = FALSE): one quoted column.
        let v = parse_series("\"x\"\n0.5\n\"NA\"\n0.7\n", None, "f").unwrap();
        assert!(v[0] == 0.5 && v[1].is_nan() && v[2] == 0.7, "{v:?}");
    }

    #[test]
    fn missing_cells_follow_the_policy() {
        let text = "x\nNA\n1\n\n2\nNaN\nNA\n5\nNA\n";
        let e = parse_series_with(text, None, "f.csv", Missing::Error).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.csv:2: column x: missing value (4 in all; choose --missing drop or --missing \
             interpolate to accept them)"
        );
        let v = parse_series_with(text, None, "f", Missing::Drop).unwrap();
        assert_eq!(v, vec![1.0, 2.0, 5.0]);
        // Interior gaps are linear between neighbours (2 → 5 over three steps); the ends,
        // with nothing on one side, are left out.
        let v = parse_series_with(text, None, "f", Missing::Interpolate).unwrap();
        assert_eq!(v, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        let v = parse_series_with(text, None, "f", Missing::Keep).unwrap();
        assert_eq!(v.len(), 7, "blank lines are skipped, missing cells kept");
        let e = parse_series_with("x\nNA\n", None, "f", Missing::Drop).unwrap_err();
        assert!(matches!(e, DataError::Empty { .. }), "{e}");
    }
}
