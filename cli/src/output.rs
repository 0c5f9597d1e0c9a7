//! How results are printed: a table for people, or `--output json` (one
//! array), `jsonl` (an object a line) or `csv` for scripts. Every format
//! prints the same fields.

use std::io::Write;

use anyhow::Result;
use clap::ValueEnum;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Jsonl,
    Csv,
}

/// A record with named fields, in print order: JSON from `Serialize`,
/// CSV and the table from `cells`.
pub trait Record: Serialize {
    const COLUMNS: &'static [&'static str];
    fn cells(&self) -> Vec<String>;
}

/// Prints `records` to stdout in `format`.
pub fn print<R: Record>(format: Format, records: &[R]) -> Result<()> {
    let stdout = std::io::stdout();
    write(&mut stdout.lock(), format, records, true)
}

/// Writes `records` in `format`; `header`: the CSV header row or table head.
pub fn write<R: Record>(out: &mut impl Write, format: Format, records: &[R], header: bool) -> Result<()> {
    match format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(records)?)?,
        Format::Jsonl => {
            for record in records {
                writeln!(out, "{}", serde_json::to_string(record)?)?;
            }
        }
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(out);
            if header {
                writer.write_record(R::COLUMNS)?;
            }
            for record in records {
                writer.write_record(record.cells())?;
            }
            writer.flush()?;
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = records.iter().map(Record::cells).collect();
            let widths: Vec<usize> = R::COLUMNS
                .iter()
                .enumerate()
                .map(|(i, c)| rows.iter().map(|r| width(&r[i])).chain([width(c)]).max().unwrap_or(0))
                .collect();
            let line = |cells: Vec<String>| {
                let padded: Vec<String> = cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(width(c)))))
                    .collect();
                padded.join("  ").trim_end().to_owned()
            };
            if header {
                writeln!(out, "{}", line(R::COLUMNS.iter().map(|c| c.to_uppercase()).collect()))?;
            }
            for row in rows {
                writeln!(out, "{}", line(row))?;
            }
        }
    }
    Ok(())
}

/// Columns a terminal gives `text`: Chinese characters take two.
fn width(text: &str) -> usize {
    text.chars().map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 }).sum()
}

/// A timestamp as RFC 3339, empty when unset.
pub fn time(timestamp: Option<&prost_types::Timestamp>) -> String {
    timestamp.map(ToString::to_string).unwrap_or_default()
}

/// A record's cells, from its fields in order, each by `ToString`.
macro_rules! cells {
    ($self:ident: $($field:ident),* $(,)?) => {
        vec![$($self.$field.to_string()),*]
    };
}
pub(crate) use cells;
