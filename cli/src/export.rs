//! The machinery of every `… export FILE`: records appended to a CSV or
//! JSON Lines file page by page, resumable. After each page the file is
//! synced, then `<FILE>.position` is replaced whole with where the next
//! page starts (a list's page token, the feed's position) and the file's
//! length. A rerun truncates the file to that length (a page half written
//! by a killed run goes) and continues from there, so the rows come out
//! once each, in order, as one uninterrupted run would write them. `-`
//! writes to stdout and keeps no position.

use std::fs::File;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::output::{self, Format, Record};
use crate::{progress, state_file};

/// What `<FILE>.position` keeps.
#[derive(Debug, Serialize, Deserialize)]
struct Checkpoint {
    /// What is exported (the command and its filter): a rerun must match.
    what: String,
    /// Where the next page starts; empty: the start.
    position: String,
    /// The file's length after the last page.
    bytes: u64,
    rows: u64,
    /// A list exported to its end (the feed never ends).
    complete: bool,
}

/// An export in progress.
pub struct Export {
    path: Option<PathBuf>,
    format: Format,
    file: Option<File>,
    checkpoint: Checkpoint,
    rows_now: u64,
    started: Instant,
    bar: ProgressBar,
}

/// The format a file's name asks for; stdout's is `--output` (JSON Lines
/// unless CSV).
fn format_of(path: &Path, output: Format) -> Result<Format> {
    if path == Path::new("-") {
        return Ok(if output == Format::Csv { Format::Csv } else { Format::Jsonl });
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => Ok(Format::Csv),
        Some("jsonl" | "ndjson") => Ok(Format::Jsonl),
        _ => bail!("{}: name the file .csv or .jsonl (or - for stdout)", path.display()),
    }
}

fn checkpoint_path(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.position", path.display()))
}

impl Export {
    /// Opens `path` for the export `what`: from `start` when given (the
    /// file is started afresh), else from the kept position. A complete
    /// list export is started afresh.
    pub fn open(path: &Path, output: Format, what: &str, start: Option<String>) -> Result<Export> {
        let format = format_of(path, output)?;
        let bar = progress::bar(None, "export");
        let fresh =
            |position: String| Checkpoint { what: what.to_owned(), position, bytes: 0, rows: 0, complete: false };
        if path == Path::new("-") {
            // The rows go to the terminal: no bar drawn across them.
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            let checkpoint = fresh(start.unwrap_or_default());
            return Ok(Export {
                path: None,
                format,
                file: None,
                checkpoint,
                rows_now: 0,
                started: Instant::now(),
                bar,
            });
        }
        let kept: Option<Checkpoint> = state_file::read(&checkpoint_path(path))?;
        let checkpoint = match (kept, start) {
            (_, Some(start)) => fresh(start),
            (Some(kept), None) if kept.what != what => bail!(
                "{} holds another export ({}); remove {} to start over",
                path.display(),
                kept.what,
                checkpoint_path(path).display()
            ),
            (Some(kept), None) if !kept.complete => kept,
            _ => fresh(String::new()),
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let length = file.metadata()?.len();
        if length < checkpoint.bytes {
            bail!(
                "{} is shorter than {} says: remove both to start over",
                path.display(),
                checkpoint_path(path).display()
            );
        }
        file.set_len(checkpoint.bytes)?;
        file.seek(std::io::SeekFrom::End(0))?;
        bar.set_position(checkpoint.rows);
        Ok(Export {
            path: Some(path.to_owned()),
            format,
            file: Some(file),
            checkpoint,
            rows_now: 0,
            started: Instant::now(),
            bar,
        })
    }

    /// Where to continue from: empty for the start.
    pub fn position(&self) -> &str {
        &self.checkpoint.position
    }

    /// Appends one page and keeps `next` as where the next one starts.
    pub fn page<R: Record>(&mut self, records: &[R], next: String) -> Result<()> {
        let header = self.checkpoint.bytes == 0;
        match self.file.as_mut() {
            Some(file) => {
                let mut buffer = Vec::new();
                output::write(&mut buffer, self.format, records, header)?;
                file.write_all(&buffer)?;
                file.sync_data()?;
                self.checkpoint.bytes += buffer.len() as u64;
            }
            None => {
                let stdout = std::io::stdout();
                let mut out = stdout.lock();
                output::write(&mut out, self.format, records, header)?;
                out.flush()?;
                // Stdout's length is not kept; this says the header is out.
                self.checkpoint.bytes += 1;
            }
        }
        self.checkpoint.rows += records.len() as u64;
        self.rows_now += records.len() as u64;
        self.checkpoint.position = next;
        self.bar.inc(records.len() as u64);
        self.keep()
    }

    fn keep(&self) -> Result<()> {
        let Some(path) = &self.path else { return Ok(()) };
        state_file::replace(&checkpoint_path(path), &self.checkpoint, false)
    }

    /// Ends the run (`complete`: the list was exported to its end) and says
    /// what it did.
    pub fn finish(mut self, complete: bool) -> Result<Summary> {
        self.checkpoint.complete = complete;
        self.keep()?;
        self.bar.finish_and_clear();
        Ok(Summary {
            file: self.path.map(|p| p.display().to_string()).unwrap_or_else(|| "-".into()),
            rows: self.rows_now,
            total_rows: self.checkpoint.rows,
            position: self.checkpoint.position,
            complete,
            seconds: self.started.elapsed().as_secs_f64(),
        })
    }
}

/// What an export run did: `rows` by this run, `total_rows` in the file,
/// and the position a rerun continues from.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub file: String,
    pub rows: u64,
    pub total_rows: u64,
    pub position: String,
    pub complete: bool,
    pub seconds: f64,
}

impl Record for Summary {
    const COLUMNS: &'static [&'static str] = &["file", "rows", "total_rows", "position", "complete", "seconds"];

    fn cells(&self) -> Vec<String> {
        let seconds = format!("{:.1}", self.seconds);
        vec![
            self.file.clone(),
            self.rows.to_string(),
            self.total_rows.to_string(),
            self.position.clone(),
            self.complete.to_string(),
            seconds,
        ]
    }
}

/// Prints the summary: on stdout, or on stderr when the rows went there.
pub fn report(summary: &Summary, format: Format) -> Result<()> {
    if summary.file == "-" {
        let mut err = std::io::stderr();
        return output::write(&mut err, Format::Jsonl, std::slice::from_ref(summary), false);
    }
    output::print(format, std::slice::from_ref(summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Line {
        n: u32,
    }

    impl Record for Line {
        const COLUMNS: &'static [&'static str] = &["n"];
        fn cells(&self) -> Vec<String> {
            vec![self.n.to_string()]
        }
    }

    #[test]
    fn a_rerun_drops_a_half_written_page_and_continues_from_the_kept_position() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("petitionctl-export-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("out.csv");
        let mut export = Export::open(&path, Format::Table, "test", None)?;
        export.page(&[Line { n: 1 }, Line { n: 2 }], "p2".into())?;
        drop(export);
        // Killed while writing the next page.
        std::fs::OpenOptions::new().append(true).open(&path)?.write_all(b"3\n4")?;
        let mut export = Export::open(&path, Format::Table, "test", None)?;
        assert_eq!(export.position(), "p2");
        export.page(&[Line { n: 3 }], String::new())?;
        let summary = export.finish(true)?;
        assert_eq!((summary.rows, summary.total_rows), (1, 3));
        assert_eq!(std::fs::read_to_string(&path)?, "n\n1\n2\n3\n");
        // Another export into the same file is refused; a complete one starts afresh.
        assert!(Export::open(&path, Format::Table, "other", None).is_err());
        assert_eq!(Export::open(&path, Format::Table, "test", None)?.position(), "");
        assert!(Export::open(&dir.join("out.txt"), Format::Table, "test", None).is_err());
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
