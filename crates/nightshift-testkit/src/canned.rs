//! The response and request records exchanged with tests.

/// A prepared response: what a recording, an added route or a script serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canned {
    pub status: u16,
    /// Header names as written; duplicates (e.g. two `Vary`) are kept.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Delay before the response is sent, to simulate a slow network.
    pub delay_ms: u64,
    /// How the body travels once the headers are out.
    pub fault: BodyFault,
}

/// A body that does not arrive in one piece.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BodyFault {
    #[default]
    None,
    /// `chunk` bytes every `every_ms` milliseconds: a slow network.
    Trickle { chunk: usize, every_ms: u64 },
    /// The connection breaks after this many body bytes: a reset mid-body
    /// (the client may see it before the head, as after a reset).
    CutAfter(usize),
}

impl Canned {
    /// A JSON response with GitHub's content type.
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Canned {
            status,
            headers: vec![(
                "Content-Type".to_string(),
                "application/json; charset=utf-8".to_string(),
            )],
            body: body.to_string(),
            delay_ms: 0,
            fault: BodyFault::None,
        }
    }

    /// A response with an arbitrary body and no headers at all, e.g. to feed
    /// the client malformed JSON or an HTML error page from a proxy.
    pub fn raw(status: u16, body: &str) -> Self {
        Canned {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            delay_ms: 0,
            fault: BodyFault::None,
        }
    }

    /// Adds a header (appended, so repeated names are all sent).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Delays the response by `ms` milliseconds.
    pub fn delay(mut self, ms: u64) -> Self {
        self.delay_ms = ms;
        self
    }

    /// Sends the body `chunk` bytes at a time, `every_ms` apart.
    pub fn trickle(mut self, chunk: usize, every_ms: u64) -> Self {
        self.fault = BodyFault::Trickle {
            chunk: chunk.max(1),
            every_ms,
        };
        self
    }

    /// Breaks the connection after `bytes` bytes of the body.
    pub fn cut_after(mut self, bytes: usize) -> Self {
        self.fault = BodyFault::CutAfter(bytes);
        self
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A request the server received, with the status it was answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path_and_query: String,
    /// Header names lowercased; values lossily decoded as UTF-8.
    pub headers: Vec<(String, String)>,
    pub status: u16,
}

impl Seen {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
