//! Dead-man's switches, one per route (Healthchecks.io's protocol): each
//! route pings its own check, so a daily or weekly route that stops is not
//! hidden behind the hourly route's pings. Per route, the first that is set:
//! `HEALTHCHECK_URL_<ROUTE>`; a ping key (`HEALTHCHECK_PING_KEY`), which
//! pings `<HEALTHCHECK_PING_URL>/<key>/nightshift-<route>?create=1` and so
//! creates each check on first use; else the shared `HEALTHCHECK_URL`,
//! which every such route pings, as before (its period is the hourly one).

use nightshift_env::ConfigError;
use secrecy::{ExposeSecret, SecretString};

/// Healthchecks.io's ping host, for ping keys.
pub const DEFAULT_PING_URL: &str = "https://hc-ping.com";

#[derive(Clone, Debug, Default)]
pub struct Healthchecks {
    /// `HEALTHCHECK_URL`: every route without a check of its own.
    pub shared: Option<SecretString>,
    /// `HEALTHCHECK_URL_HOURLY`, `_DAILY`, `_WEEKLY`: (route name, URL).
    pub per_route: Vec<(&'static str, SecretString)>,
    /// `HEALTHCHECK_PING_KEY`: the project's ping key; checks by slug.
    pub ping_key: Option<SecretString>,
    /// `HEALTHCHECK_PING_URL`: where ping keys are pinged.
    pub ping_url: String,
}

/// Where one route pings: `{base}/start`, `{base}`, `{base}/fail`; with
/// `create`, the check is created on first use (`?create=1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PingTarget {
    pub base: String,
    pub create: bool,
}

impl Healthchecks {
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut per_route = Vec::new();
        for (route, url) in [
            ("hourly", http_url(&get, "HEALTHCHECK_URL_HOURLY")?),
            ("daily", http_url(&get, "HEALTHCHECK_URL_DAILY")?),
            ("weekly", http_url(&get, "HEALTHCHECK_URL_WEEKLY")?),
        ] {
            if let Some(url) = url {
                per_route.push((route, SecretString::from(url)));
            }
        }
        let ping_key = get("HEALTHCHECK_PING_KEY")
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        if let Some(k) = &ping_key
            && !k
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ConfigError::Invalid {
                name: "HEALTHCHECK_PING_KEY",
                reason: "a ping key has only letters, digits, - and _ (the project's Settings page in Healthchecks.io shows it)".into(),
            });
        }
        Ok(Self {
            shared: http_url(&get, "HEALTHCHECK_URL")?.map(SecretString::from),
            per_route,
            ping_key: ping_key.map(SecretString::from),
            ping_url: http_url(&get, "HEALTHCHECK_PING_URL")?
                .unwrap_or_else(|| DEFAULT_PING_URL.to_owned()),
        })
    }

    /// Where the route named `route` pings, if anywhere.
    pub fn for_route(&self, route: &str) -> Option<PingTarget> {
        if let Some((_, url)) = self.per_route.iter().find(|(r, _)| *r == route) {
            return Some(PingTarget {
                base: url.expose_secret().to_owned(),
                create: false,
            });
        }
        if let Some(key) = &self.ping_key {
            return Some(PingTarget {
                base: format!(
                    "{}/{}/nightshift-{route}",
                    self.ping_url,
                    key.expose_secret()
                ),
                create: true,
            });
        }
        self.shared.as_ref().map(|u| PingTarget {
            base: u.expose_secret().to_owned(),
            create: false,
        })
    }

    /// Which setting gives the route its check, for `nightshift check`
    /// (never the URL itself: it holds the check's key).
    pub fn source_for(&self, route: &str) -> Option<String> {
        if self.per_route.iter().any(|(r, _)| *r == route) {
            Some(format!("HEALTHCHECK_URL_{}", route.to_ascii_uppercase()))
        } else if self.ping_key.is_some() {
            Some(format!("HEALTHCHECK_PING_KEY, check nightshift-{route}"))
        } else if self.shared.is_some() {
            Some("HEALTHCHECK_URL, shared by the routes without their own".into())
        } else {
            None
        }
    }
}

/// An http(s) URL without its trailing slash, or nothing when unset.
fn http_url(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<String>, ConfigError> {
    let Some(v) = get(name)
        .map(|v| v.trim().trim_end_matches('/').to_owned())
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    if !(v.starts_with("https://") || v.starts_with("http://")) {
        return Err(ConfigError::Invalid {
            name,
            reason: "not an http(s) URL".into(),
        });
    }
    Ok(Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<Healthchecks, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Healthchecks::from_lookup(&|k: &str| {
            pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn a_route_s_own_check_then_the_ping_key_then_the_shared_url() {
        let h = read(&[
            ("HEALTHCHECK_URL", "https://hc.example/ping/shared/"),
            ("HEALTHCHECK_URL_DAILY", "https://hc.example/ping/daily"),
        ])
        .unwrap();
        let base = |r: &str| h.for_route(r).map(|t| t.base);
        assert_eq!(
            base("daily").as_deref(),
            Some("https://hc.example/ping/daily")
        );
        assert_eq!(
            base("hourly").as_deref(),
            Some("https://hc.example/ping/shared")
        );
        assert_eq!(
            h.source_for("daily").as_deref(),
            Some("HEALTHCHECK_URL_DAILY")
        );
        let k = read(&[
            ("HEALTHCHECK_URL", "https://hc.example/ping/shared"),
            ("HEALTHCHECK_URL_WEEKLY", "https://hc.example/ping/weekly"),
            ("HEALTHCHECK_PING_KEY", "fqOOd6-F4MMNuCEnzTU01w"),
        ])
        .unwrap();
        assert_eq!(
            k.for_route("daily"),
            Some(PingTarget {
                base: "https://hc-ping.com/fqOOd6-F4MMNuCEnzTU01w/nightshift-daily".into(),
                create: true
            })
        );
        assert_eq!(
            k.for_route("weekly").unwrap().base,
            "https://hc.example/ping/weekly"
        );
        assert!(read(&[]).unwrap().for_route("hourly").is_none());
        assert!(read(&[("HEALTHCHECK_URL_HOURLY", "hc-ping.com/abc")]).is_err());
        assert!(read(&[("HEALTHCHECK_PING_KEY", "a/b")]).is_err());
    }
}
