//! Dates and times as forms send them — `2026-12-01` from `<input type="date">`, `2026-12-01T14:30` or
//! `2026-12-01T14:30:15` from `<input type="datetime-local">` — read by hand. The `time` crate's parser for format
//! descriptions, which read them before, was the largest part of that crate in the browser's bundle (D-031); these
//! accept exactly what it accepted for `[year]-[month]-[day]` and `…T[hour]:[minute]` with optional `:[second]`.

use time::{Date, Month, PrimitiveDateTime, Time};

/// A calendar date as typed in a form or sent as JSON (`2026-12-01`, spaces around it allowed), with the message a
/// form shows under the field otherwise.
pub fn parse_date(s: &str) -> Result<Date, String> {
    read_date(s.trim()).ok_or_else(|| "must be a date such as 2026-12-01".to_string())
}

/// A calendar date, exactly `YYYY-MM-DD`.
fn read_date(s: &str) -> Option<Date> {
    match date(s.as_bytes())? {
        (d, []) => Some(d),
        _ => None,
    }
}

/// Reads an optional date (`"2026-12-01"` or `null`), as the `time` crate's own serde support writes it, with
/// [`read_date`] instead of that crate's parser (for `#[serde(deserialize_with)]`).
pub fn deserialize_optional_date<'de, D>(deserializer: D) -> Result<Option<Date>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    let text = Option::<String>::deserialize(deserializer)?;
    text.map(|s| {
        read_date(&s).ok_or_else(|| serde::de::Error::custom(format!("not a date: {s:?}")))
    })
    .transpose()
}

/// A date and a wall-clock time without an offset, `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS`.
pub fn parse_local_date_time(s: &str) -> Option<PrimitiveDateTime> {
    let (date, rest) = date(s.as_bytes())?;
    let (hour, rest) = digits::<2>(literal(b'T', rest)?)?;
    let (minute, rest) = digits::<2>(literal(b':', rest)?)?;
    let second = match rest {
        [] => 0,
        _ => match digits::<2>(literal(b':', rest)?)? {
            (second, []) => second,
            _ => return None,
        },
    };
    let time = Time::from_hms(
        hour.try_into().ok()?,
        minute.try_into().ok()?,
        second.try_into().ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time))
}

fn date(s: &[u8]) -> Option<(Date, &[u8])> {
    // A sign before the year is allowed, as the `[year]` component allowed it.
    let (negative, s) = match s {
        [b'+', rest @ ..] => (false, rest),
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    let (year, rest) = digits::<4>(s)?;
    let year = i32::try_from(year).ok()?;
    let year = if negative { -year } else { year };
    let (month, rest) = digits::<2>(literal(b'-', rest)?)?;
    let (day, rest) = digits::<2>(literal(b'-', rest)?)?;
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = Date::from_calendar_date(year, month, day.try_into().ok()?).ok()?;
    Some((date, rest))
}

/// The number `N` ASCII digits at the start of `s` spell, and what follows them.
fn digits<const N: usize>(s: &[u8]) -> Option<(u32, &[u8])> {
    let (head, rest) = s.split_at_checked(N)?;
    head.iter()
        .try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
        .map(|n| (n, rest))
}

fn literal(c: u8, s: &[u8]) -> Option<&[u8]> {
    s.strip_prefix(&[c])
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime, format_description};

    const INPUTS: &[&str] = &[
        "2026-12-01",
        "2024-02-29",
        "2025-02-29",
        "2026-13-01",
        "2026-00-10",
        "2026-12-32",
        "2026-12-00",
        "0001-01-01",
        "9999-12-31",
        "26-12-01",
        "2026-1-01",
        "2026-12-1",
        "2026/12/01",
        "2026-12-01 ",
        " 2026-12-01",
        "2026-12-01x",
        "+2026-12-01",
        "-2026-12-01",
        "-0000-01-01",
        "++2026-12-01",
        "２０２６-12-01",
        "",
        "2026-12-01T14:30",
        "2026-12-01T14:30:15",
        "2026-12-01T24:00",
        "2026-12-01T23:60",
        "2026-12-01T23:59:60",
        "2026-12-01T23:59:59",
        "2026-12-01t14:30",
        "2026-12-01 14:30",
        "2026-12-01T14:30:",
        "2026-12-01T14:30:1",
        "2026-12-01T14:30:15Z",
        "2026-12-01T14:30:15.5",
        "2026-12-01T1:30",
        "2026-12-01T14",
        "2026-12-01T",
    ];

    /// The same verdict, and the same value, as the `time` crate's parser with the descriptions used before.
    #[test]
    fn accepts_what_the_format_descriptions_accepted() {
        let day = format_description!("[year]-[month]-[day]");
        let minutes = format_description!("[year]-[month]-[day]T[hour]:[minute]");
        let seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        for s in INPUTS {
            assert_eq!(read_date(s), Date::parse(s, &day).ok(), "date {s:?}");
            let before = PrimitiveDateTime::parse(s, &minutes)
                .or_else(|_| PrimitiveDateTime::parse(s, &seconds));
            assert_eq!(parse_local_date_time(s), before.ok(), "date and time {s:?}");
        }
    }

    /// A date the `time` crate wrote is read back the same.
    #[test]
    fn reads_what_time_serde_writes() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Deal {
            #[serde(default, deserialize_with = "deserialize_optional_date")]
            expected_close_date: Option<Date>,
        }
        for d in [
            Some(date!(2026 - 12 - 01)),
            Some(date!(0001 - 01 - 01)),
            Some(date!(9999 - 12 - 31)),
            None,
        ] {
            let deal = Deal {
                expected_close_date: d,
            };
            let json = serde_json::to_string(&deal).unwrap();
            assert_eq!(serde_json::from_str::<Deal>(&json).unwrap(), deal, "{json}");
        }
        assert!(serde_json::from_str::<Deal>(r#"{"expected_close_date":"2026-02-30"}"#).is_err());
    }

    #[test]
    fn reads_dates_and_times() {
        assert_eq!(parse_date(" 2024-02-29 "), Ok(date!(2024 - 02 - 29)));
        assert!(parse_date("2025-02-29").is_err());
        assert_eq!(
            parse_local_date_time("2026-06-15T09:30"),
            Some(datetime!(2026-06-15 09:30))
        );
        assert_eq!(
            parse_local_date_time("2026-06-15T09:30:15"),
            Some(datetime!(2026-06-15 09:30:15))
        );
        assert_eq!(parse_local_date_time("2026-06-15T09:30:15Z"), None);
    }
}
