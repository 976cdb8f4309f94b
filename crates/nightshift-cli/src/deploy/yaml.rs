//! The template as a tree, written out as block YAML by hand (no YAML
//! library: the subset CloudFormation needs is maps, lists and scalars).
//! The tree keeps its keys in the order they were written, so the file reads
//! in the order a reviewer expects, and tests look things up in it by key
//! instead of searching text.

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Map(Vec<(String, Node)>),
    List(Vec<Node>),
    Str(String),
    Int(i64),
    Bool(bool),
}

impl Node {
    /// The document: `# comment` lines, then the tree.
    pub fn to_yaml(&self, comment: &str) -> String {
        let mut out = String::new();
        for line in comment.lines() {
            out.push_str(format!("# {line}").trim_end());
            out.push('\n');
        }
        block(&mut out, self, 0, false);
        out
    }
}

/// Lookups for tests, which read the tree rather than search the text.
#[cfg(test)]
impl Node {
    /// The value under `key`, when this is a map that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value at a path of keys.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn keys(&self) -> Vec<&str> {
        match self {
            Node::Map(entries) => entries.iter().map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        }
    }
}

pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Node)>) -> Node {
    Node::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

pub fn list(items: impl IntoIterator<Item = Node>) -> Node {
    Node::List(items.into_iter().collect())
}

pub fn s(v: impl Into<String>) -> Node {
    Node::Str(v.into())
}

pub fn int(v: impl Into<i64>) -> Node {
    Node::Int(v.into())
}

/// Writes a non-empty map or list starting at column `indent`; `inline`
/// when the caller already wrote `- ` for its first line.
fn block(out: &mut String, node: &Node, indent: usize, inline: bool) {
    let pad = " ".repeat(indent);
    match node {
        Node::Map(entries) => {
            for (i, (k, v)) in entries.iter().enumerate() {
                if !(inline && i == 0) {
                    out.push_str(&pad);
                }
                out.push_str(&key(k));
                out.push(':');
                value(out, v, indent + 2);
            }
        }
        Node::List(items) => {
            for (i, item) in items.iter().enumerate() {
                if !(inline && i == 0) {
                    out.push_str(&pad);
                }
                out.push('-');
                match scalar(item) {
                    Some(text) => {
                        out.push(' ');
                        out.push_str(&text);
                        out.push('\n');
                    }
                    None => {
                        out.push(' ');
                        block(out, item, indent + 2, true);
                    }
                }
            }
        }
        other => {
            out.push_str(&scalar(other).unwrap_or_default());
            out.push('\n');
        }
    }
}

/// After `key:`: a scalar on the same line, a block on the next ones.
fn value(out: &mut String, v: &Node, indent: usize) {
    match scalar(v) {
        Some(text) => {
            out.push(' ');
            out.push_str(&text);
            out.push('\n');
        }
        None => {
            out.push('\n');
            block(out, v, indent, false);
        }
    }
}

/// A scalar's text, or None for a non-empty map or list.
fn scalar(node: &Node) -> Option<String> {
    match node {
        Node::Str(v) => Some(string(v)),
        Node::Int(n) => Some(n.to_string()),
        Node::Bool(b) => Some(b.to_string()),
        Node::Map(e) if e.is_empty() => Some("{}".into()),
        Node::List(l) if l.is_empty() => Some("[]".into()),
        _ => None,
    }
}

/// Plain when YAML can only read it as this string, else double-quoted (a
/// JSON string is a valid YAML double-quoted scalar).
fn string(v: &str) -> String {
    // YAML 1.1 reads these as booleans or null ("OFF" would be false).
    const WORDS: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    let plain = v.starts_with(|c: char| c.is_ascii_alphabetic())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c))
        && !WORDS.contains(&v.to_ascii_lowercase().as_str());
    if plain {
        v.to_owned()
    } else {
        serde_json::to_string(v).expect("a string serializes")
    }
}

/// Keys may also hold `:` (`Fn::GetAtt`, `aws:SourceAccount`).
fn key(k: &str) -> String {
    let plain = k.starts_with(|c: char| c.is_ascii_alphabetic())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c))
        && !k.ends_with(':');
    if plain {
        k.to_owned()
    } else {
        serde_json::to_string(k).expect("a string serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_block_yaml() {
        let doc = map([
            ("Name", s("provided.al2023")),
            ("Mode", s("OFF")),
            ("Expr", s("cron(0 2 * * ? *)")),
            ("Count", int(3)),
            ("Empty", map::<&str>([])),
            (
                "Items",
                list([
                    s("a"),
                    map([("Fn::GetAtt", list([s("F"), s("Arn")])), ("B", s("x"))]),
                ]),
            ),
            ("Nested", map([("aws:SourceAccount", s("1"))])),
            ("$default", s("say \"hi\"")),
        ]);
        let want = "# made by a test\n\
Name: provided.al2023\n\
Mode: \"OFF\"\n\
Expr: \"cron(0 2 * * ? *)\"\n\
Count: 3\n\
Empty: {}\n\
Items:\n  - a\n  - Fn::GetAtt:\n      - F\n      - Arn\n    B: x\n\
Nested:\n  aws:SourceAccount: \"1\"\n\
\"$default\": \"say \\\"hi\\\"\"\n";
        assert_eq!(doc.to_yaml("made by a test"), want);
        assert_eq!(doc.at(&["Nested", "aws:SourceAccount"]), Some(&s("1")));
        assert_eq!(doc.at(&["Nested", "missing"]), None);
    }
}
