//! The auth callout's settings: its issuer and curve keys (read from seed files), the
//! account it places clients in, the lifetime of their JWTs, the permission templates.

use std::path::Path;
use std::time::Duration;

use super::{read_file, ConfigError};

/// Callout settings.
pub struct CalloutConfig {
    /// The issuer account key pair (`SA…` seed); the server config names its public key.
    pub issuer: nkeys::KeyPair,
    /// The callout's curve key pair (`SX…` seed) when the server encrypts requests.
    pub xkey: Option<nkeys::XKey>,
    /// The account clients are placed in (`aud` of the user JWT).
    pub account: String,
    /// Lifetime of issued user JWTs: the backstop if an eviction is missed.
    pub user_ttl: Duration,
    pub templates: crate::templates::Templates,
}

impl std::fmt::Debug for CalloutConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CalloutConfig")
            .field("issuer", &self.issuer.public_key())
            .field("xkey", &self.xkey.as_ref().map(|x| x.public_key()))
            .field("account", &self.account)
            .field("user_ttl", &self.user_ttl)
            .finish()
    }
}

impl CalloutConfig {
    /// Reads the issuer seed and optional xkey seed from files.
    pub fn from_files(
        issuer_seed: &Path,
        xkey_seed: Option<&Path>,
        account: &str,
        user_ttl: Duration,
        templates: crate::templates::Templates,
    ) -> Result<Self, ConfigError> {
        let seed = read_file(issuer_seed)?;
        let issuer = nkeys::KeyPair::from_seed(seed.trim()).map_err(ConfigError::IssuerSeed)?;
        if !issuer.public_key().starts_with('A') {
            return Err(ConfigError::IssuerNotAccount);
        }
        let xkey = match xkey_seed {
            Some(p) => {
                let s = read_file(p)?;
                Some(nkeys::XKey::from_seed(s.trim()).map_err(ConfigError::XkeySeed)?)
            }
            None => None,
        };
        Ok(Self {
            issuer,
            xkey,
            account: account.to_owned(),
            user_ttl,
            templates,
        })
    }
}
