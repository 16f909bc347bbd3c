//! `Option<Option<T>>` for PATCH bodies: an absent field leaves the value alone, `null` clears it.

use serde::{Deserialize, Deserializer};

pub fn double<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
