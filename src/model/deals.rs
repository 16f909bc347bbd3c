//! Deals, and the kanban board that shows them by stage.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::serde_opt;
use crate::domain::{
    ContactId, Currency, DealId, DealTitle, Money, PipelineId, Probability, StageId, StageKind,
    UserId, Validator, optional_text, parse_date,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deal {
    pub id: DealId,
    pub title: String,
    pub pipeline_id: PipelineId,
    pub stage_id: StageId,
    pub stage_name: String,
    pub stage_kind: StageKind,
    pub contact_id: Option<ContactId>,
    pub contact_name: Option<String>,
    pub owner_id: Option<UserId>,
    pub owner_name: Option<String>,
    pub amount: Option<Money>,
    /// The effective win probability: the one a manager set, else the stage's default.
    pub probability: u8,
    /// Whether a manager set `probability` (otherwise it follows the stage).
    pub probability_explicit: bool,
    #[serde(default, deserialize_with = "crate::domain::deserialize_optional_date")]
    pub expected_close_date: Option<Date>,
    pub lost_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub stage_entered_at: OffsetDateTime,
    /// Idle in an open stage for longer than the stage's rot days.
    pub stale: bool,
    /// The card's sortable place in its column.
    pub position: String,
    pub version: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Deal {
    /// amount × probability, in minor units (rounded down).
    pub fn weighted_minor(&self) -> Option<i64> {
        self.amount
            .map(|m| (i128::from(m.amount_minor) * i128::from(self.probability) / 100) as i64)
    }
}

/// An amount as JSON sends it (`{"amount_minor": 1250000, "currency": "EUR"}`) or as a form types it (`"12500.00"`,
/// with the currency in its own field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AmountInput {
    Exact {
        amount_minor: i64,
        currency: String,
    },
    Text(String),
    /// Anything else (an amount past 64 bits, a fraction of a minor unit, a wrong type): refused with the field named,
    /// never as a body that "did not match".
    Unreadable(serde_json::Value),
}

/// A number that may arrive as a JSON number or as form text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NumberInput {
    Number(i64),
    Text(String),
}

impl NumberInput {
    fn parse(&self) -> Result<Option<i64>, String> {
        match self {
            NumberInput::Number(n) => Ok(Some(*n)),
            NumberInput::Text(s) if s.trim().is_empty() => Ok(None),
            NumberInput::Text(s) => s
                .trim()
                .trim_end_matches('%')
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| "must be a whole number".to_string()),
        }
    }
}

fn parse_amount(
    amount: &AmountInput,
    currency: Option<&str>,
    fallback: Currency,
) -> Result<Option<Money>, String> {
    match amount {
        AmountInput::Exact {
            amount_minor,
            currency,
        } => {
            let currency = Currency::parse(currency)?;
            Money::new(*amount_minor, currency).map(Some)
        }
        AmountInput::Unreadable(_) => Err(format!(
            "must be {{\"amount_minor\": <whole number from 0 to {}>, \"currency\": \"EUR\"}} or text such as 1250.00",
            Money::MAX_MINOR
        )),
        AmountInput::Text(s) if s.trim().is_empty() => Ok(None),
        AmountInput::Text(s) => {
            let currency = match currency.map(str::trim).filter(|c| !c.is_empty()) {
                Some(c) => Currency::parse(c)?,
                None => fallback,
            };
            Money::parse(s, currency).map(Some)
        }
    }
}

fn parse_probability(p: &NumberInput) -> Result<Option<Probability>, String> {
    p.parse()
        .map_err(|_| "must be a whole percentage from 0 to 100".to_string())?
        .map(Probability::new)
        .transpose()
}

fn parse_opt_date(s: &str) -> Result<Option<Date>, String> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        parse_date(s).map(Some)
    }
}

/// The currency a deal gets when none is given.
pub fn default_currency() -> Currency {
    Currency::parse("EUR").unwrap_or_else(|_| unreachable!("EUR is a currency code"))
}

/// What the new-deal form and `POST /api/deals` send.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DealForm {
    pub title: String,
    pub contact_id: Option<ContactId>,
    pub pipeline_id: Option<PipelineId>,
    pub stage_id: Option<StageId>,
    pub amount: Option<AmountInput>,
    /// The currency of a typed amount (ignored for the exact JSON form, which carries its own).
    pub currency: Option<String>,
    pub probability: Option<NumberInput>,
    pub expected_close_date: Option<String>,
    pub owner_id: Option<UserId>,
}

/// A parsed [`DealForm`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeal {
    pub title: DealTitle,
    pub contact_id: Option<ContactId>,
    pub pipeline_id: Option<PipelineId>,
    pub stage_id: Option<StageId>,
    pub amount: Option<Money>,
    pub probability: Option<Probability>,
    pub expected_close_date: Option<Date>,
    pub owner_id: Option<UserId>,
}

impl DealForm {
    pub fn parse(&self) -> crate::Result<NewDeal> {
        let mut v = Validator::new();
        let title = v.check("title", DealTitle::parse(&self.title));
        let amount = v.check(
            "amount",
            self.amount.as_ref().map_or(Ok(None), |a| {
                parse_amount(a, self.currency.as_deref(), default_currency())
            }),
        );
        let probability = v.check(
            "probability",
            self.probability
                .as_ref()
                .map_or(Ok(None), parse_probability),
        );
        let expected_close_date = v.check(
            "expected_close_date",
            parse_opt_date(self.expected_close_date.as_deref().unwrap_or("")),
        );
        v.finish(|| {
            Some(NewDeal {
                title: title?,
                contact_id: self.contact_id,
                pipeline_id: self.pipeline_id,
                stage_id: self.stage_id,
                amount: amount?,
                probability: probability?,
                expected_close_date: expected_close_date?,
                owner_id: self.owner_id,
            })
        })
    }
}

/// `PATCH /api/deals/{id}` and every edit in the app: only the fields present change. `version` is the version the
/// change was based on; a stale one is a conflict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealPatch {
    pub version: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(
        default,
        deserialize_with = "serde_opt::double",
        skip_serializing_if = "Option::is_none"
    )]
    pub amount: Option<Option<AmountInput>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// `null` returns the deal to its stage's default.
    #[serde(
        default,
        deserialize_with = "serde_opt::double",
        skip_serializing_if = "Option::is_none"
    )]
    pub probability: Option<Option<NumberInput>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_id: Option<StageId>,
    /// Place the card just before this one (in the target stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_id: Option<DealId>,
    /// Place the card just after this one (in the target stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_id: Option<DealId>,
    #[serde(
        default,
        deserialize_with = "serde_opt::double",
        skip_serializing_if = "Option::is_none"
    )]
    pub owner_id: Option<Option<UserId>>,
    #[serde(
        default,
        deserialize_with = "serde_opt::double",
        skip_serializing_if = "Option::is_none"
    )]
    pub contact_id: Option<Option<ContactId>>,
    #[serde(
        default,
        deserialize_with = "serde_opt::double",
        skip_serializing_if = "Option::is_none"
    )]
    pub expected_close_date: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_reason: Option<String>,
}

/// A parsed [`DealPatch`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidPatch {
    pub version: i32,
    pub title: Option<DealTitle>,
    pub amount: Option<Option<Money>>,
    pub probability: Option<Option<Probability>>,
    pub stage_id: Option<StageId>,
    pub before_id: Option<DealId>,
    pub after_id: Option<DealId>,
    pub owner_id: Option<Option<UserId>>,
    pub contact_id: Option<Option<ContactId>>,
    pub expected_close_date: Option<Option<Date>>,
    pub lost_reason: Option<Option<String>>,
}

impl ValidPatch {
    /// Whether the change moves the card (to another stage or another place in its column).
    pub fn is_move(&self) -> bool {
        self.stage_id.is_some() || self.before_id.is_some() || self.after_id.is_some()
    }
}

impl DealPatch {
    /// Parses the present fields; a typed amount without a currency keeps `currency`.
    pub fn parse(&self, currency: Currency) -> crate::Result<ValidPatch> {
        let mut v = Validator::new();
        let title = self
            .title
            .as_deref()
            .and_then(|t| v.check("title", DealTitle::parse(t)));
        let amount = match &self.amount {
            None => None,
            Some(None) => Some(None),
            // Blank clears the amount (`Some(None)`); an invalid one is recorded and `finish` refuses.
            Some(Some(a)) => v.check(
                "amount",
                parse_amount(a, self.currency.as_deref(), currency),
            ),
        };
        let probability = match &self.probability {
            None => None,
            Some(None) => Some(None),
            Some(Some(p)) => v.check("probability", parse_probability(p)),
        };
        let expected_close_date = match &self.expected_close_date {
            None => None,
            Some(d) => v.check(
                "expected_close_date",
                parse_opt_date(d.as_deref().unwrap_or("")),
            ),
        };
        // Absent leaves it alone; blank clears it (`Some(None)`).
        let lost_reason = self
            .lost_reason
            .as_deref()
            .and_then(|r| v.check("lost_reason", optional_text(r, 500)));
        if self.before_id.is_some() && self.after_id.is_some() {
            v.check::<()>(
                "before_id",
                Err("give before_id or after_id, not both".into()),
            );
        }
        v.finish(|| {
            Some(ValidPatch {
                version: self.version,
                title,
                amount,
                probability,
                stage_id: self.stage_id,
                before_id: self.before_id,
                after_id: self.after_id,
                owner_id: self.owner_id,
                contact_id: self.contact_id,
                expected_close_date,
                lost_reason,
            })
        })
    }
}

/// Money summed per currency: boards never add euros to dollars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrencyTotal {
    pub currency: Currency,
    pub count: i64,
    /// Σ amount, exact: 128 bits hold any number of deals of at most [`Money::MAX_MINOR`].
    pub total_minor: i128,
    /// Σ amount × probability / 100, rounded down once at the end.
    pub weighted_minor: i128,
}

/// One stage column of the board: its figures over *all* its deals, and the first page of cards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardColumn {
    pub id: StageId,
    pub name: String,
    pub position: i32,
    pub probability: i16,
    pub kind: StageKind,
    pub rot_days: Option<i32>,
    pub count: i64,
    /// The totals of the column's main currency (the one most of its deals use): `currency`, `total_minor` and
    /// `weighted_minor` in the board's JSON.
    pub currency: Option<Currency>,
    pub total_minor: i128,
    pub weighted_minor: i128,
    /// Every currency of the column, main one first.
    pub totals: Vec<CurrencyTotal>,
    pub deals: Vec<Deal>,
    pub next_cursor: Option<String>,
}

/// The kanban board of one pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Board {
    pub pipeline_id: PipelineId,
    pub name: String,
    pub stages: Vec<BoardColumn>,
}

/// A page of a list and the cursor of the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page from up to `limit + 1` items read in order (keyset): the extra one only says there is more, and the
    /// cursor names the last item kept.
    pub fn from_overfetch(
        mut items: Vec<T>,
        limit: usize,
        cursor_of: impl FnOnce(&T) -> String,
    ) -> Self {
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(cursor_of)
        } else {
            None
        };
        Self { items, next_cursor }
    }
}
