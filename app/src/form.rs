//! Forms that post to a server function: the same `<form method="post">` with or without the app's script, and, once
//! the app runs, sent with `fetch` as the form's own fields.
//!
//! Leptos' `ActionForm` reads a form's fields into the server function's argument type in the browser and writes
//! them out again to send them, which compiles a URL-encoded reader and writer for every form's arguments into the
//! browser's bundle. A form's fields already are the request the server reads (`application/x-www-form-urlencoded`,
//! as when no script runs), so [`PostForm`] sends them as they are and the server alone parses them (D-031). What it
//! answers is read as any server function's answer: the output as JSON, an error as [`ApiError`], and a redirect
//! handed to the router.

use std::marker::PhantomData;
use std::ops::Deref;

use leptos::html::Form;
use leptos::prelude::*;
use leptos::server::ServerActionError;
use leptos::server_fn::ServerFn;
use leptos::server_fn::error::ServerFnUrlError;
use serde::de::DeserializeOwned;

use crate::components::encode_query_value;
use crate::error::ApiError;

/// The state of a form's submissions, as Leptos' `ServerAction`: the last answer (`value`), whether one is on its
/// way (`pending`) and how many have come back (`version`). Its input is the URL-encoded body that was sent.
pub struct PostAction<S: ServerFn> {
    inner: Action<String, Result<S::Output, ApiError>>,
    fun: PhantomData<fn() -> S>,
}

impl<S: ServerFn> Clone for PostAction<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S: ServerFn> Copy for PostAction<S> {}

impl<S: ServerFn> Deref for PostAction<S>
where
    S::Output: Send + Sync + 'static,
{
    type Target = Action<String, Result<S::Output, ApiError>>;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl<S> PostAction<S>
where
    S: ServerFn<Error = ApiError> + 'static,
    S::Output: DeserializeOwned + Send + Sync + 'static,
{
    /// A form's action. After a submission without a script failed, the server renders the page again with the
    /// error for this server function, which becomes the action's first value (as with `ServerAction`).
    pub fn new() -> Self {
        let error = use_context::<ServerActionError>().and_then(|e| {
            (e.path() == S::PATH).then(|| Err(ServerFnUrlError::<ApiError>::decode_err(e.err())))
        });
        Self {
            inner: Action::new_with_value(error, |body: &String| post::<S>(body.clone())),
            fun: PhantomData,
        }
    }

    /// Sends these fields as the form would (for a change made without the form, such as a drop).
    pub fn send(&self, fields: &[(&str, &str)]) {
        self.inner.dispatch(encode(fields));
    }
}

impl<S> PostAction<S>
where
    S: ServerFn + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    /// How many submissions have succeeded: a signal that changes exactly when something was saved (`version`
    /// also counts refused ones).
    pub fn successes(self) -> Memo<u32> {
        Memo::new(move |prev: Option<&u32>| {
            let n = prev.copied().unwrap_or(0);
            if matches!(self.value().get(), Some(Ok(_))) {
                n + 1
            } else {
                n
            }
        })
    }
}

impl<S> Default for PostAction<S>
where
    S: ServerFn<Error = ApiError> + 'static,
    S::Output: DeserializeOwned + Send + Sync + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

/// A `<form method="post">` to the server function `S`. Without the app's script the browser posts it and the server
/// redirects back; with it, the submission goes through `action`. `attr:` attributes land on the `<form>`.
#[component]
pub fn PostForm<S>(
    action: PostAction<S>,
    #[prop(optional)] node_ref: Option<NodeRef<Form>>,
    children: Children,
) -> impl IntoView
where
    S: ServerFn<Error = ApiError> + 'static,
    S::Output: DeserializeOwned + Send + Sync + 'static,
{
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        if ev.default_prevented() {
            return;
        }
        ev.prevent_default();
        match form_body(&ev) {
            Some(body) => {
                action.dispatch(body);
            }
            None => {
                use leptos::server_fn::error::{IntoAppError, ServerFnErrorErr};
                let unread = ServerFnErrorErr::Serialization("the form could not be read".into());
                action.value().set(Some(Err(unread.into_app_error())));
            }
        }
    };
    view! {
        <form action=S::url() method="post" node_ref=node_ref.unwrap_or_default() on:submit=on_submit>
            {children()}
        </form>
    }
}

/// The submitted form's fields, with the button that submitted it, URL-encoded as the browser would post them.
fn form_body(ev: &leptos::ev::SubmitEvent) -> Option<String> {
    let data = leptos::form::form_data_from_event(ev).ok()?;
    let params = web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data).ok()?;
    Some(params.to_string().into())
}

/// `fields`, URL-encoded.
fn encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode_query_value(name), encode_query_value(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Posts a URL-encoded body to `S` and reads the answer as the server function's own client would.
async fn post<S>(body: String) -> Result<S::Output, ApiError>
where
    S: ServerFn<Error = ApiError>,
    S::Output: DeserializeOwned,
{
    use leptos::server_fn::client::{Client, browser::BrowserClient};
    use leptos::server_fn::codec::{JsonEncoding, PostUrl};
    use leptos::server_fn::error::{FromServerFnError, IntoAppError, ServerFnErrorErr};
    use leptos::server_fn::request::ClientReq;
    use leptos::server_fn::response::ClientRes;
    use leptos::server_fn::{ContentType, redirect};

    type Request = <BrowserClient as Client<ApiError>>::Request;
    let request = <Request as ClientReq<ApiError>>::try_new_post(
        S::PATH,
        PostUrl::CONTENT_TYPE,
        JsonEncoding::CONTENT_TYPE,
        body,
    )?;
    let response = <BrowserClient as Client<ApiError>>::send(request).await?;
    let status = ClientRes::<ApiError>::status(&response);
    if (400..=599).contains(&status) {
        let bytes = ClientRes::<ApiError>::try_into_bytes(response).await?;
        return Err(ApiError::de(bytes));
    }
    let location = ClientRes::<ApiError>::location(&response);
    let redirected =
        (300..=399).contains(&status) || ClientRes::<ApiError>::has_redirect(&response);
    let bytes = ClientRes::<ApiError>::try_into_bytes(response).await?;
    let output = serde_json::from_slice(&bytes).map_err(|e| {
        IntoAppError::<ApiError>::into_app_error(ServerFnErrorErr::Deserialization(e.to_string()))
    })?;
    if redirected {
        redirect::call_redirect_hook(&location);
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_encoded_as_a_form_posts_them() {
        assert_eq!(
            encode(&[("organization_id", "a b&c=d"), ("position", "2")]),
            "organization_id=a%20b%26c%3Dd&position=2"
        );
        assert_eq!(encode(&[]), "");
    }
}
