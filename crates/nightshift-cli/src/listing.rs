//! The one way the CLI prints rows: `--json` gives the rows as a pretty JSON
//! array (the same fields the structs serialise), otherwise an aligned table
//! with a header, or a line saying there is nothing.

use serde::Serialize;

/// A table column: its header, its width, and whether it is right-aligned
/// (numbers). The last column is never padded.
pub struct Column {
    pub name: &'static str,
    pub width: usize,
    pub right: bool,
}

/// A left-aligned column.
pub const fn col(name: &'static str, width: usize) -> Column {
    Column {
        name,
        width,
        right: false,
    }
}

/// A right-aligned column, for numbers.
pub const fn num(name: &'static str, width: usize) -> Column {
    Column {
        name,
        width,
        right: true,
    }
}

/// A row type the CLI lists.
pub trait Listing: Serialize {
    const COLUMNS: &'static [Column];
    /// What the table says when there are no rows, e.g. "(no runs)".
    const EMPTY: &'static str;
    /// One cell per column, already shortened where a column needs it.
    fn cells(&self) -> Vec<String>;
}

pub fn print<T: Listing>(rows: &[T], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(rows)?);
        return Ok(());
    }
    let header: Vec<String> = T::COLUMNS.iter().map(|c| c.name.to_owned()).collect();
    println!("{}", line(T::COLUMNS, &header));
    for row in rows {
        println!("{}", line(T::COLUMNS, &row.cells()));
    }
    if rows.is_empty() {
        println!("{}", T::EMPTY);
    }
    Ok(())
}

fn line(columns: &[Column], cells: &[String]) -> String {
    let last = columns.len().saturating_sub(1);
    let mut out = String::new();
    for (i, (c, cell)) in columns.iter().zip(cells).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        match (i == last, c.right) {
            (true, false) => out.push_str(cell),
            (_, true) => out.push_str(&format!("{cell:>w$}", w = c.width)),
            (false, false) => out.push_str(&format!("{cell:<w$}", w = c.width)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_left_and_right_and_leaves_the_last_column() {
        let cols = [col("A", 4), num("N", 3), col("LAST", 2)];
        let cells = ["x".to_owned(), "7".to_owned(), "long text".to_owned()];
        assert_eq!(line(&cols, &cells), "x      7 long text");
    }
}
