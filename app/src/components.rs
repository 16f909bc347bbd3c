//! Small pieces shared by the pages.

use leptos::prelude::*;

use crate::error::ApiError;

/// The message under a form field, announced to screen readers.
#[component]
pub fn FieldError(
    #[prop(into)] message: Signal<Option<String>>,
    #[prop(into)] id: String,
) -> impl IntoView {
    view! {
        <Show when=move || message.get().is_some()>
            <p class="field-error" id=id.clone() role="alert">{move || message.get()}</p>
        </Show>
    }
}

/// A form-wide error (not tied to one field).
#[component]
pub fn FormError(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || message.get().is_some()>
            <div class="form-error" role="alert">{move || message.get()}</div>
        </Show>
    }
}

/// Field errors of a form: the browser's own verdict (the shared `clearview::domain` rules) for the fields a person
/// has left, or for all of them once the form was submitted; else what the server answered for that field.
#[derive(Clone, Copy)]
pub struct FieldErrors {
    touched: RwSignal<Vec<&'static str>>,
    submitted: RwSignal<bool>,
    local: Memo<clearview::FieldErrors>,
    server: Signal<Option<ApiError>>,
}

impl FieldErrors {
    pub fn new(
        local: Memo<clearview::FieldErrors>,
        server: impl Fn() -> Option<ApiError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            touched: RwSignal::new(Vec::new()),
            submitted: RwSignal::new(false),
            local,
            server: Signal::derive(server),
        }
    }

    /// From now on the browser's verdict on `name` is shown.
    pub fn touch(self, name: &'static str) {
        self.touched.update(|t| {
            if !t.contains(&name) {
                t.push(name);
            }
        })
    }

    /// Marks the form submitted: every field shows its verdict.
    pub fn submit(self) {
        self.submitted.set(true);
    }

    /// Starts afresh (after a successful submission).
    pub fn reset(self) {
        self.touched.set(Vec::new());
        self.submitted.set(false);
    }

    pub fn of(self, name: &'static str) -> Signal<Option<String>> {
        Signal::derive(move || {
            if (self.submitted.get() || self.touched.read().contains(&name))
                && let Some(m) = self.local.read().get(name)
            {
                return Some(m.clone());
            }
            self.server.get().and_then(|e| e.field(name))
        })
    }

    /// A server error that names no field (shown once, above the submit button).
    pub fn form(self) -> Signal<Option<String>> {
        Signal::derive(move || {
            self.server
                .get()
                .filter(|e| e.fields.is_empty())
                .map(|e| e.message)
        })
    }
}

/// The page of a record that does not exist (or is another workspace's: the same answer). Answers 404.
#[component]
pub fn Missing(what: &'static str, back: &'static str, back_label: &'static str) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <leptos_meta::Title text=format!("{what} not found")/>
        <div class="card empty">
            <h1>{format!("{what} not found")}</h1>
            <p class="muted">"It may have been deleted, or it belongs to another workspace."</p>
            <a href=back>{back_label}</a>
        </div>
    }
}

/// Percent-encodes a query-string value (everything but unreserved characters).
pub fn encode_query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An amount for people: thousands grouped, the currency's decimals, the code after it ("12,500.00 EUR").
pub fn format_money(
    amount_minor: impl Into<i128>,
    currency: clearview::domain::Currency,
) -> String {
    let minor: i128 = amount_minor.into();
    let sign = if minor < 0 { "-" } else { "" };
    let places = currency.minor_digits();
    let scale = 10u128.pow(places);
    let int = (minor.unsigned_abs() / scale).to_string();
    let frac = if places == 0 {
        String::new()
    } else {
        format!(
            "{:0width$}",
            minor.unsigned_abs() % scale,
            width = places as usize
        )
    };
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if frac.is_empty() {
        format!("{sign}{grouped} {currency}")
    } else {
        format!("{sign}{grouped}.{frac} {currency}")
    }
}

/// A moment as the server renders it (and a page without scripts shows it): date and minutes, in UTC.
pub fn format_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", t.date(), t.hour(), t.minute())
}

/// A moment in the reader's own time zone: rendered in UTC on the server, shown in the browser's zone once the page
/// runs its script (the UTC time stays in the tooltip).
#[component]
pub fn LocalTime(at: time::OffsetDateTime) -> impl IntoView {
    let text = RwSignal::new(format_time(at));
    Effect::new(move |_| {
        if let Some(local) = local_time::format(at) {
            text.set(local);
        }
    });
    view! {
        <time class="muted small" datetime=at.to_string() title=format_time(at)>{move || text.get()}</time>
    }
}

/// The browser's time zone, through the browser's own clock (`Date`, `Intl`): it knows the zone's rules, daylight
/// saving included. On the server every answer is `None`, and times stay in UTC.
pub mod local_time {
    /// `2026-11-22 15:30` in the browser's zone.
    pub fn format(at: time::OffsetDateTime) -> Option<String> {
        #[cfg(feature = "hydrate")]
        {
            let ms = (at.unix_timestamp_nanos() / 1_000_000) as f64;
            let d = js_sys::Date::new(&leptos::wasm_bindgen::JsValue::from_f64(ms));
            Some(format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                d.get_full_year(),
                d.get_month() + 1,
                d.get_date(),
                d.get_hours(),
                d.get_minutes()
            ))
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = at;
            None
        }
    }

    /// The zone's name, such as `Europe/Paris`.
    pub fn zone() -> Option<String> {
        #[cfg(feature = "hydrate")]
        {
            let options =
                js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
                    .resolved_options();
            js_sys::Reflect::get(
                &options,
                &leptos::wasm_bindgen::JsValue::from_str("timeZone"),
            )
            .ok()
            .and_then(|z| z.as_string())
        }
        #[cfg(not(feature = "hydrate"))]
        None
    }

    /// Minutes east of UTC of a `datetime-local` value (`2026-11-22T14:30`) in the browser's zone, at that moment.
    pub fn offset_of(local: &str) -> Option<i32> {
        #[cfg(feature = "hydrate")]
        {
            // ECMAScript reads a date-time without an offset as local time.
            let d = js_sys::Date::new(&leptos::wasm_bindgen::JsValue::from_str(local.trim()));
            (!d.get_time().is_nan()).then(|| -(d.get_timezone_offset() as i32))
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = local;
            None
        }
    }
}

/// A part of a page that the browser takes over in a task of its own (D-030), so that no single task of a page's start-up
/// holds the main thread for the whole page. During the first hydration the part stays the server's HTML until a timer
/// after the hydration pass; then its view is built and hydrated against that HTML. Everywhere else (on the server, or
/// for a page built in the browser) it is the part as it is. The wrapper is a `div` with `display: contents`, which no
/// layout sees.
///
/// The part must not create resources: a resource reads the data the server sent with the page by its place in the
/// page's order, and a part built later would take another's place. Pages create theirs before their view.
#[component]
pub fn Later(children: Children) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    let children = match later::defer(children) {
        Ok(placeholder) => return placeholder,
        Err(children) => children,
    };
    view! { <div class="later">{children()}</div> }.into_any()
}

/// The browser's half of [`Later`], and the page's `data-hydrated` mark, which waits for every deferred part.
pub mod later {
    #[cfg(feature = "hydrate")]
    use leptos::prelude::*;
    #[cfg(feature = "hydrate")]
    use std::cell::Cell;

    #[cfg(feature = "hydrate")]
    thread_local! {
        /// Deferred parts not taken over yet, and whether the hydration pass itself has ended.
        static PENDING: Cell<usize> = const { Cell::new(0) };
        static PASS_DONE: Cell<bool> = const { Cell::new(false) };
    }

    /// Marks the page as running (`<body data-hydrated>`, which the browser journeys wait for) once the hydration pass
    /// has ended and every deferred part has been taken over.
    pub fn hydration_pass_done() {
        #[cfg(feature = "hydrate")]
        {
            PASS_DONE.with(|d| d.set(true));
            mark_if_done();
        }
    }

    #[cfg(feature = "hydrate")]
    fn mark_if_done() {
        if PASS_DONE.with(Cell::get)
            && PENDING.with(Cell::get) == 0
            && let Some(body) = document().body()
        {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    }

    /// During the first hydration: a placeholder claiming the part's element, and the part built and hydrated in a
    /// task of its own. Otherwise the children back, to be built at once.
    #[cfg(feature = "hydrate")]
    pub(super) fn defer(children: Children) -> Result<AnyView, Children> {
        use leptos::tachys::hydration::Cursor;
        use leptos::tachys::view::{PositionState, RenderHtml};
        use leptos::wasm_bindgen::JsCast;

        let hydrating = Owner::current_shared_context().is_some_and(|sc| sc.during_hydration());
        let owner = match Owner::current() {
            Some(owner) if hydrating => owner,
            _ => return Err(children),
        };
        let node = NodeRef::<leptos::html::Div>::new();
        PENDING.with(|p| p.set(p.get() + 1));
        // Counted off once: when the part has been taken over, or when the page around it goes first.
        let settled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let settle = move || {
            if !settled.swap(true, std::sync::atomic::Ordering::Relaxed) {
                PENDING.with(|p| p.set(p.get() - 1));
                mark_if_done();
            }
        };
        on_cleanup(settle.clone());
        node.on_load(move |div| {
            set_timeout(
                move || {
                    // A page left before its turn came has nothing to take over.
                    if div.is_connected() {
                        owner.with(|| {
                            let cursor = Cursor::new(div.unchecked_into());
                            let state =
                                children().hydrate::<true>(&cursor, &PositionState::default());
                            // The part's effects live as long as its state, and the owner keeps the state.
                            StoredValue::new_local(state);
                        });
                    }
                    settle();
                },
                std::time::Duration::ZERO,
            );
        });
        // A one-element tuple is a view type of its own: when the page around it is rendered again in place (after a
        // save), the part built then replaces this placeholder and the nodes it claimed, instead of being added inside.
        Ok((view! { <div class="later" node_ref=node></div> },).into_any())
    }
}

/// The signed-in member's role (from the app shell).
pub fn my_role() -> clearview::domain::Role {
    use_context::<crate::auth::Me>()
        .map(|me| me.role)
        .unwrap_or(clearview::domain::Role::Rep)
}

/// Whether the policy table lets the signed-in member do `action`: the same function the server enforces, so a page
/// shows a control exactly to those the server will let use it (the server refuses the rest all the same).
pub fn can(action: clearview::policy::Action) -> bool {
    clearview::policy::allows(my_role(), action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_exactly() {
        let eur = clearview::domain::Currency::parse("EUR").unwrap();
        assert_eq!(format_money(1_250_000_050, eur), "12,500,000.50 EUR");
        assert_eq!(format_money(99, eur), "0.99 EUR");
        assert_eq!(format_money(100_000, eur), "1,000.00 EUR");
        let jpy = clearview::domain::Currency::parse("JPY").unwrap();
        assert_eq!(format_money(1_000, jpy), "1,000 JPY");
        // Board totals are 128-bit: far past i64 they still print exactly.
        assert_eq!(
            format_money(i128::from(i64::MAX) * 10, eur),
            "922,337,203,685,477,580.70 EUR"
        );
    }
}
