use std::fmt;

use serde::{Deserialize, Serialize};

fn parse_text(input: &str, max: usize) -> Result<String, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("is required".into());
    }
    if s.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(s.to_owned())
}

/// An optional free-text field: blank is `None`; otherwise trimmed, at most `max` characters, no control characters.
pub fn optional_text(input: &str, max: usize) -> Result<Option<String>, String> {
    if input.trim().is_empty() {
        return Ok(None);
    }
    parse_text(input, max).map(Some)
}

/// An optional phone number as people write them: digits with spaces, `+ - . ( ) /`; 3 to 32 characters.
pub fn optional_phone(input: &str) -> Result<Option<String>, String> {
    let Some(s) = optional_text(input, 32)? else {
        return Ok(None);
    };
    let digits = s.chars().filter(char::is_ascii_digit).count();
    if digits < 3
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || " +-.()/".contains(c))
    {
        return Err("must be a phone number such as +44 20 7946 0958".into());
    }
    Ok(Some(s))
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(input: &str) -> Result<Self, String> {
                parse_text(input, Self::MAX_CHARS).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}

text_type!(
    /// A person's display name: trimmed, 1–100 characters, no control characters.
    PersonName,
    100
);
text_type!(
    /// A deal's title: trimmed, 1–200 characters, no control characters.
    DealTitle,
    200
);
text_type!(
    /// An activity's subject line: trimmed, 1–200 characters, no control characters.
    Subject,
    200
);
text_type!(
    /// A workspace's name: trimmed, 1–100 characters, no control characters.
    OrgName,
    100
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(
            PersonName::parse("  Ada Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"x".repeat(101)).is_err());
        assert!(PersonName::parse(&"é".repeat(100)).is_ok());
        assert!(OrgName::parse("Acme\u{0}").is_err());
    }

    proptest! {
        #[test]
        fn parsed_names_are_trimmed_and_bounded(s in "\\PC{0,150}") {
            if let Ok(n) = PersonName::parse(&s) {
                prop_assert_eq!(n.as_str().trim(), n.as_str());
                prop_assert!(!n.as_str().is_empty() && n.as_str().chars().count() <= 100);
            }
        }
    }
}
