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

/// Reads a series from `path` (`-` is standard input).
///
/// # Errors
///
/// [`DataError`] naming the source, and the line and column of a bad cell.
pub fn read_series(path: &Path, column: Option<&ColumnSelector>) -> Result<Vec<f64>, DataError> {
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
    parse_series(&text, column, &name)
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
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
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
        None => 0,
        Some(ColumnSelector::Index(i)) => *i,
        Some(ColumnSelector::Name(n)) => named_column(&headers, n, source_name)?,
    };
    let column_name = headers
        .get(index)
        .cloned()
        .unwrap_or_else(|| index.to_string());
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(malformed)?;
        let line = record.position().map_or(0, |p| p.line());
        let cell = record.get(index).ok_or_else(|| DataError::NoColumn {
            source_name: source_name.to_string(),
            column: index.to_string(),
            available: format!("{} on line {line}", record.len()),
        })?;
        out.push(parse_cell(cell, line, &column_name, source_name)?);
    }
    if out.is_empty() {
        return Err(DataError::Empty {
            source_name: source_name.to_string(),
        });
    }
    Ok(out)
}

fn parse_cell(cell: &str, line: u64, column: &str, source_name: &str) -> Result<f64, DataError> {
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
) -> Result<Vec<f64>, DataError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l.split_whitespace().collect::<Vec<&str>>()))
        .filter(|(_, f)| !f.is_empty() && !f[0].starts_with('#'))
        .peekable();
    // A first line of non-numeric words is a header.
    let headers: Vec<String> = match lines.peek() {
        Some((_, f)) if f.iter().all(|w| w.parse::<f64>().is_err()) => {
            let h = f.iter().map(|w| w.to_string()).collect();
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
    let mut out = Vec::new();
    for (line, fields) in lines {
        match index {
            // Without a column, every number of every line, in reading order.
            None => {
                for (c, f) in fields.iter().enumerate() {
                    out.push(parse_cell(f, line, &column_name(c), source_name)?);
                }
            }
            Some(c) => {
                let f = fields.get(c).ok_or_else(|| DataError::NoColumn {
                    source_name: source_name.to_string(),
                    column: c.to_string(),
                    available: format!("{} on line {line}", fields.len()),
                })?;
                out.push(parse_cell(f, line, &column_name(c), source_name)?);
            }
        }
    }
    if out.is_empty() {
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
}
