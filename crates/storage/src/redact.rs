/// Hides the password of a URL like `postgres://user:secret@host/db`, and a `password=` query
/// parameter, for logs and pages. A URL that does not parse is hidden whole.
pub fn redact_url(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        return "<unparseable URL>".to_owned();
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs
        .iter()
        .any(|(key, _)| key.eq_ignore_ascii_case("password"))
    {
        let mut query = url.query_pairs_mut();
        query.clear();
        for (key, value) in &pairs {
            let value = if key.eq_ignore_ascii_case("password") {
                "***"
            } else {
                value.as_str()
            };
            query.append_pair(key, value);
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn hides_the_password_and_keeps_the_rest() {
        assert_eq!(
            redact_url("postgres://orderflow:s3cr@t@db:5432/orderflow?sslmode=disable"),
            "postgres://orderflow:***@db:5432/orderflow?sslmode=disable"
        );
        assert_eq!(redact_url("postgres://me@db/x"), "postgres://me@db/x");
        assert_eq!(
            redact_url("postgres://me@db/x?password=secret&sslmode=require"),
            "postgres://me@db/x?password=***&sslmode=require"
        );
        assert!(!redact_url("postgres://me:pa/ss@db/x").contains("ss@"));
        assert_eq!(
            redact_url("sqlite://data/order.db"),
            "sqlite://data/order.db"
        );
    }
}
