//! Small pieces shared by the pages.

use leptos::prelude::*;

/// The message under a form field, announced to screen readers.
#[component]
pub fn FieldError(
    #[prop(into)] message: Signal<Option<String>>,
    id: &'static str,
) -> impl IntoView {
    view! {
        <Show when=move || message.get().is_some()>
            <p class="field-error" id=id role="alert">{move || message.get()}</p>
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
