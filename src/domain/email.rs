use std::fmt;

use serde::{Deserialize, Serialize};

/// An e-mail address, trimmed, with its domain lower-cased. Comparison in the database is case-insensitive (citext).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub const MAX_LEN: usize = 254;

    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("is required".into());
        }
        if s.len() > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        let invalid = || "must be a valid address".to_string();
        let (local, domain) = s.rsplit_once('@').ok_or_else(invalid)?;
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2 && labels.iter().all(|l| label_ok(l));
        if !local_ok || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> String {
        e.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ordinary_addresses_and_lowercases_the_domain() {
        assert_eq!(
            EmailAddress::parse(" Ann.Lee@Example.COM ")
                .unwrap()
                .as_str(),
            "Ann.Lee@example.com"
        );
        assert!(EmailAddress::parse("a+tag@sub.example.co.uk").is_ok());
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "   ",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "ann@@example.com",
            "a..b@example.com",
            "ann@-example.com",
            "ann@exa mple.com",
            ".ann@example.com",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        assert!(EmailAddress::parse(&format!("{}@example.com", "a".repeat(300))).is_err());
    }

    proptest! {
        #[test]
        fn parse_is_idempotent(local in "[a-z0-9._%+-]{1,20}", domain in "[a-z0-9]{1,10}\\.[a-z]{2,5}") {
            if let Ok(e) = EmailAddress::parse(&format!("{local}@{domain}")) {
                prop_assert_eq!(EmailAddress::parse(e.as_str()).unwrap(), e);
            }
        }

        #[test]
        fn never_panics(s in ".{0,300}") {
            let _ = EmailAddress::parse(&s);
        }
    }
}
