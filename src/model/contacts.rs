//! Contacts: the people a sales team talks to.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::{
    ContactId, EmailAddress, PersonName, UserId, Validator, optional_phone, optional_text,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Contact {
    pub id: ContactId,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub title: Option<String>,
    pub owner_id: Option<UserId>,
    pub owner_name: Option<String>,
    /// Bumped by every update; an update based on an older version is a conflict.
    pub version: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Contact {
    pub fn full_name(&self) -> String {
        if self.last_name.is_empty() {
            self.first_name.clone()
        } else {
            format!("{} {}", self.first_name, self.last_name)
        }
    }
}

/// What the contact form and `POST`/`PUT /api/contacts` send. Blank optional fields mean "none".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactInput {
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub title: Option<String>,
    pub owner_id: Option<UserId>,
    /// The version an update was based on (optional for the API's full update; the form always sends it).
    pub version: Option<i32>,
}

/// A parsed [`ContactInput`]; `parse` reports every bad field at once and runs in the browser too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidContact {
    pub first_name: PersonName,
    pub last_name: Option<String>,
    pub email: Option<EmailAddress>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub title: Option<String>,
    pub owner_id: Option<UserId>,
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}

impl ValidContact {
    pub fn parse(input: &ContactInput) -> crate::Result<Self> {
        let mut v = Validator::new();
        let first_name = v.check("first_name", PersonName::parse(&input.first_name));
        let last_name = v.check("last_name", optional_text(&input.last_name, 100));
        let email = v.check(
            "email",
            match opt(&input.email).trim() {
                "" => Ok(None),
                s => EmailAddress::parse(s).map(Some),
            },
        );
        let phone = v.check("phone", optional_phone(opt(&input.phone)));
        let company = v.check("company", optional_text(opt(&input.company), 200));
        let title = v.check("title", optional_text(opt(&input.title), 100));
        v.finish(|| {
            Some(Self {
                first_name: first_name?,
                last_name: last_name?,
                email: email?,
                phone: phone?,
                company: company?,
                title: title?,
                owner_id: input.owner_id,
            })
        })
    }
}

/// The orders of the contacts table: its sortable columns, and best match for a search.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactSort {
    #[default]
    Name,
    Company,
    Email,
    Created,
    /// Best match first (whole words, then word starts, then anywhere), newest first within each; the order of a
    /// search unless a column is asked for. Without a search term it is the default order.
    Relevance,
}

impl ContactSort {
    pub const ALL: [ContactSort; 5] = [
        ContactSort::Name,
        ContactSort::Company,
        ContactSort::Email,
        ContactSort::Created,
        ContactSort::Relevance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactSort::Name => "name",
            ContactSort::Company => "company",
            ContactSort::Email => "email",
            ContactSort::Created => "created",
            ContactSort::Relevance => "relevance",
        }
    }

    /// The order a value names; `None` for a blank or unknown one, which falls back to the default order rather than
    /// failing a page load.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The order when none is asked for: best match for a search, the name otherwise.
    pub fn default_for(q: &str) -> Self {
        if has_search_words(q) {
            ContactSort::Relevance
        } else {
            ContactSort::Name
        }
    }
}

/// Whether a search term has a word to look for. The search folds ASCII punctuation into word breaks (as it folds the
/// text it searches), so a term of punctuation and spaces alone searches for nothing and lists the whole table.
pub fn has_search_words(q: &str) -> bool {
    q.chars()
        .any(|c| !(c.is_ascii_punctuation() || c.is_whitespace()))
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortDir {
    #[default]
    Asc,
    Desc,
}

impl SortDir {
    pub fn as_str(self) -> &'static str {
        match self {
            SortDir::Asc => "asc",
            SortDir::Desc => "desc",
        }
    }

    pub fn parse_or_default(s: &str) -> Self {
        if s == "desc" {
            SortDir::Desc
        } else {
            SortDir::Asc
        }
    }

    pub fn flip(self) -> Self {
        match self {
            SortDir::Asc => SortDir::Desc,
            SortDir::Desc => SortDir::Asc,
        }
    }
}

/// `GET /api/contacts` and the contacts page: a search, an order, and where the previous page ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactQuery {
    pub q: String,
    /// Absent: [`ContactSort::default_for`] the term.
    pub sort: Option<ContactSort>,
    pub dir: SortDir,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

impl ContactQuery {
    /// The longest search term, in characters: a name, a company and an e-mail address typed together fit.
    pub const MAX_Q: usize = 200;

    /// The order this page is in: the one asked for, else [`ContactSort::default_for`] the term. Best match needs a
    /// term: without one the table is in name order.
    pub fn order(&self) -> ContactSort {
        match self.sort {
            Some(ContactSort::Relevance) if !has_search_words(&self.q) => ContactSort::Name,
            Some(sort) => sort,
            None => ContactSort::default_for(&self.q),
        }
    }
}

/// One page of contacts and the cursor of the next (keyset pagination).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactPage {
    pub items: Vec<Contact>,
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_bad_field() {
        let err = ValidContact::parse(&ContactInput {
            first_name: " ".into(),
            email: Some("nope".into()),
            phone: Some("call me".into()),
            ..Default::default()
        })
        .unwrap_err();
        let fields = err.fields().unwrap();
        assert_eq!(
            fields.keys().collect::<Vec<_>>(),
            ["email", "first_name", "phone"]
        );
    }

    #[test]
    fn a_search_is_in_best_match_order_unless_a_column_is_asked_for() {
        let query = |q: &str, sort: Option<ContactSort>| ContactQuery {
            q: q.into(),
            sort,
            ..Default::default()
        };
        assert_eq!(query("", None).order(), ContactSort::Name);
        assert_eq!(query(" .-@ ", None).order(), ContactSort::Name);
        assert_eq!(query("ada", None).order(), ContactSort::Relevance);
        assert_eq!(
            query("ada", Some(ContactSort::Company)).order(),
            ContactSort::Company
        );
        assert_eq!(
            query("", Some(ContactSort::Relevance)).order(),
            ContactSort::Name
        );
        assert_eq!(
            ContactSort::parse("relevance"),
            Some(ContactSort::Relevance)
        );
        assert_eq!(ContactSort::parse(""), None);
        assert_eq!(ContactSort::parse("nonsense"), None);
    }

    #[test]
    fn blanks_are_none() {
        let c = ValidContact::parse(&ContactInput {
            first_name: "Grace".into(),
            email: Some("  ".into()),
            company: Some("".into()),
            phone: Some("+1 (555) 010-9999".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.email, None);
        assert_eq!(c.company, None);
        assert_eq!(c.last_name, None);
        assert_eq!(c.phone.as_deref(), Some("+1 (555) 010-9999"));
    }
}
