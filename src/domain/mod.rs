//! Domain newtypes, parsed once at the edge. Holding a `Handle` means it is valid.
//!
//! - [`names`]: what people choose (handles, tenants, site codes, roles, labels, policies);
//! - [`keys`]: public keys, checked for weak points, and a key pair's typed views;
//! - [`ids`]: nonces, invite ids, machine uids and machine ids;
//! - [`tokens`]: the typed secrets (`inv_`, `cek_`, `cak_`);
//! - [`tenancy`]: a tenant's status and its moves, kind, plan, products, customer ids;
//! - [`credentials`]: the vault's ids, scopes, holders, names, types and masked values.

/// The conversions of a text newtype with a `parse` constructor: `as_str`, serde's
/// `TryFrom<String>` (through `parse`) and `Into<String>`, and `Display`. (Newer types
/// use it; the older ones spell the same out.)
macro_rules! text_type {
    ($t:ident) => {
        impl $t {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $t {
            type Error = ParseError;
            fn try_from(s: String) -> Result<Self, ParseError> {
                Self::parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

mod credentials;
mod ids;
mod keys;
mod names;
mod tenancy;
mod tokens;

pub use credentials::*;
pub use ids::*;
pub use keys::*;
pub use names::*;
pub use tenancy::*;
pub use tokens::*;

use crate::crypto;

/// Why a value from the outside was refused; the text is safe to show the requester.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn err(msg: impl Into<String>) -> ParseError {
    ParseError(msg.into())
}

impl From<crypto::MalformedSecret> for ParseError {
    fn from(e: crypto::MalformedSecret) -> Self {
        ParseError(e.0)
    }
}

#[cfg(test)]
#[path = "domain_test.rs"]
mod tests;
