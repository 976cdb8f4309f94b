//! The `Link` header: `<https://…?page=2>; rel="next", <…>; rel="last"`.

/// The URL with `rel="next"`, if any.
pub fn next(header: &str) -> Option<&str> {
    header.split(',').find_map(|part| {
        let (url, params) = part.trim().split_once(';')?;
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim();
                p == r#"rel="next""# || p == "rel=next"
            })
            .then_some(url)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_next() {
        let h = r#"<https://api.github.com/repositories/1/issues?page=2>; rel="next", <https://api.github.com/repositories/1/issues?page=5>; rel="last""#;
        assert_eq!(
            super::next(h),
            Some("https://api.github.com/repositories/1/issues?page=2")
        );
        let h = r#"<https://x/?page=4>; rel="prev", <https://x/?page=1>; rel="first""#;
        assert_eq!(super::next(h), None);
        assert_eq!(super::next("garbage"), None);
    }
}
