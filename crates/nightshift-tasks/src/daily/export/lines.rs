//! The decompressed side of a table file: what the gzip decoder writes into,
//! cut into numbered lines, with no line allowed past [`MAX_LINE`].
//!
//! The check is made as the decoder writes (at most 32 KiB at a time), not
//! after a chunk is decoded: a few KiB of gzip can expand to gigabytes, and
//! the bucket is not trusted with our memory.

use std::io::{self, Write};

/// The longest row a table file may hold, in bytes of JSON.
///
/// The largest legitimate row is a report chart (`report_images.data`): a
/// PNG of at most 1184 × 440 RGB pixels, about 1.6 MB even incompressible,
/// so about 3.2 MB as bytea hex in JSON. A report's HTML, text and data
/// (25 projects, 10 bugs) and an issue's text (GitHub caps a body at 65,536
/// characters) are far smaller. 64 MiB is twenty times the largest row and
/// still a bounded cost: the line, then one copy of it in the INSERT.
pub(super) const MAX_LINE: usize = 64 << 20;

/// A line past the limit, found while it was still being decoded.
#[derive(Debug, thiserror::Error)]
#[error("line {line} is longer than {} (a row this binary would never write)", size(*.max))]
pub(super) struct LineTooLong {
    pub line: u64,
    pub max: usize,
}

/// Decoded bytes not yet loaded: whole lines, then the start of the next.
pub(super) struct Lines {
    buf: Vec<u8>,
    max: usize,
    /// Newlines seen so far: the line being written is number `seen + 1`.
    seen: u64,
    /// Bytes of the line being written, at the end of `buf`.
    current: usize,
    /// Number of the first line in `buf`.
    first: u64,
}

impl Lines {
    pub(super) fn new(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            max,
            seen: 0,
            current: 0,
            first: 1,
        }
    }

    /// The complete lines written so far, with the number of the first.
    pub(super) fn take_complete(&mut self) -> (u64, Vec<u8>) {
        let end = self.buf.len() - self.current;
        let first = std::mem::replace(&mut self.first, self.seen + 1);
        (first, self.buf.drain(..end).collect())
    }

    /// Whatever is left: a last line with no newline, or nothing.
    pub(super) fn take_rest(&mut self) -> (u64, Vec<u8>) {
        self.current = 0;
        let first = std::mem::replace(&mut self.first, self.seen + 1);
        (first, std::mem::take(&mut self.buf))
    }
}

impl Write for Lines {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut parts = data.split(|b| *b == b'\n').peekable();
        while let Some(part) = parts.next() {
            self.current += part.len();
            if self.current > self.max {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    LineTooLong {
                        line: self.seen + 1,
                        max: self.max,
                    },
                ));
            }
            if parts.peek().is_some() {
                self.seen += 1;
                self.current = 0;
            }
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_across_writes_and_a_long_one_is_refused_as_it_grows() {
        let mut l = Lines::new(8);
        l.write_all(b"{\"a\":1}\n{\"b\"").unwrap();
        assert_eq!(l.take_complete(), (1, b"{\"a\":1}\n".to_vec()));
        l.write_all(b":2}\n\n{").unwrap();
        assert_eq!(l.take_complete(), (2, b"{\"b\":2}\n\n".to_vec()));
        // Line 4 reaches 9 bytes in its second write, with no newline yet.
        l.write_all(b"\"c\":").unwrap();
        let e = l.write_all(b"3333").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 4 is longer than 8 bytes (a row this binary would never write)"
        );
        assert_eq!(l.take_rest(), (4, b"{\"c\":".to_vec()));
    }

    #[test]
    fn a_line_of_exactly_the_limit_passes() {
        let mut l = Lines::new(4);
        l.write_all(b"1234\n1234").unwrap();
        assert_eq!(l.take_complete(), (1, b"1234\n".to_vec()));
        assert_eq!(l.take_rest(), (2, b"1234".to_vec()));
    }
}
