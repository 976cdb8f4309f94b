//! Streaming `COPY ... FROM STDIN` in Postgres' text format.
//!
//! Rows are written into a buffer that is sent whenever it passes `CHUNK`
//! bytes, so memory stays flat however many rows are copied, and the server
//! works on one chunk while the next is being generated.

use std::fmt::{Display, Write as _};

use chrono::{DateTime, Utc};

use sqlx::PgConnection;
use sqlx::postgres::PgCopyIn;

/// Large enough that per-message overhead vanishes, small enough that the
/// progress bar moves and memory stays small.
const CHUNK: usize = 1 << 20;

pub struct CopyStream<'c> {
    copy: PgCopyIn<&'c mut PgConnection>,
    buf: String,
    /// Whether the next field is the first of its row (no tab before it).
    row_start: bool,
    rows: u64,
}

impl<'c> CopyStream<'c> {
    /// `statement` is a full `COPY table (cols) FROM STDIN` statement in the
    /// default text format.
    pub async fn begin(conn: &'c mut PgConnection, statement: &str) -> anyhow::Result<Self> {
        let copy = conn.copy_in_raw(statement).await?;
        Ok(Self {
            copy,
            buf: String::with_capacity(CHUNK + 4096),
            row_start: true,
            rows: 0,
        })
    }

    fn sep(&mut self) {
        if !self.row_start {
            self.buf.push('\t');
        }
        self.row_start = false;
    }

    /// A text field, escaped: backslash, tab, newline and carriage return are
    /// the characters the text format gives meaning to.
    pub fn text(&mut self, value: &str) -> &mut Self {
        self.sep();
        for c in value.chars() {
            match c {
                '\\' => self.buf.push_str("\\\\"),
                '\t' => self.buf.push_str("\\t"),
                '\n' => self.buf.push_str("\\n"),
                '\r' => self.buf.push_str("\\r"),
                c => self.buf.push(c),
            }
        }
        self
    }

    /// A field whose `Display` form never contains a special character:
    /// numbers, booleans, timestamps.
    pub fn value(&mut self, value: impl Display) -> &mut Self {
        self.sep();
        write!(self.buf, "{value}").expect("writing to a String cannot fail");
        self
    }

    pub fn opt_value(&mut self, value: Option<impl Display>) -> &mut Self {
        match value {
            Some(v) => self.value(v),
            None => {
                self.sep();
                self.buf.push_str("\\N");
                self
            }
        }
    }

    pub fn opt_text(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.text(v),
            None => self.opt_value(None::<&str>),
        }
    }

    /// Ends the row; sends the buffer once it is a chunk's worth. Returns the
    /// number of rows sent by this call (0 when nothing was sent), for
    /// progress reporting.
    pub async fn end_row(&mut self) -> anyhow::Result<u64> {
        self.buf.push('\n');
        self.row_start = true;
        self.rows += 1;
        if self.buf.len() >= CHUNK {
            return self.flush().await;
        }
        Ok(0)
    }

    async fn flush(&mut self) -> anyhow::Result<u64> {
        if self.buf.is_empty() {
            return Ok(0);
        }
        self.copy.send(self.buf.as_bytes()).await?;
        self.buf.clear();
        Ok(std::mem::take(&mut self.rows))
    }

    /// Sends what is left and ends the COPY; returns the rows the server
    /// counted.
    pub async fn finish(mut self) -> anyhow::Result<u64> {
        self.flush().await?;
        Ok(self.copy.finish().await?)
    }
}

/// An amount in cents, written as a numeric with two decimals.
pub struct Cents(pub i64);

impl std::fmt::Display for Cents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// Microseconds, as Postgres stores them, in UTC.
pub fn ts(t: DateTime<Utc>) -> impl std::fmt::Display {
    t.format("%Y-%m-%d %H:%M:%S%.6f+00")
}
