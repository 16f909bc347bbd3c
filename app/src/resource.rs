//! Resources whose data the server renders into the page and the browser reads back, in one JSON reader.
//!
//! Leptos' default resource codec reads JSON from `&str`, and server functions read their answers from bytes. Each
//! is a separate instance of every data type's deserializer, so the WASM carried each of those twice (9 % of its code,
//! D-028). Resources made here read from the bytes of the same text, so the browser needs only one.

use std::future::Future;

use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// JSON, written as Leptos writes it and read from bytes, as server functions' answers are.
pub struct Json;

impl<T: Serialize> Encoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(val: &T) -> Result<String, Self::Error> {
        serde_json::to_string(val)
    }
}

impl<T: DeserializeOwned> Decoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(val: &str) -> Result<T, Self::Error> {
        serde_json::from_slice(val.as_bytes())
    }
}

/// A resource: `fetcher` runs whenever `source` changes; on the server its first value is written into the page. A
/// blocking one, whose first value the page's response waits for, is `Resource::<_, Json>::new_with_options(…, true)`.
#[track_caller]
pub fn resource<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<T, Json>
where
    S: PartialEq + Clone + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_it_writes() {
        let value = vec![Some("Zoë \"quoted\" \u{1F600}".to_string()), None];
        let text = <Json as Encoder<_>>::encode(&value).unwrap();
        let back: Vec<Option<String>> = <Json as Decoder<_>>::decode(&text).unwrap();
        assert_eq!(back, value);
        assert!(<Json as Decoder<Vec<u8>>>::decode("[1,").is_err());
    }
}
