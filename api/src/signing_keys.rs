//! The Ed25519 signing keys (not the service API keys, which are
//! `kartel_domain::api_keys`): they sign access tokens and certificates.
//! Their public halves are published at `/.well-known/jwks.json`; `kid`
//! lets keys rotate.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::configuration::Settings;

pub struct SigningKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    pub kid: String,
    /// The public key, base64url (the JWK `x`).
    pub public_x: String,
    issuer: String,
    audience: String,
    pub access_ttl: i64,
    /// Retired keys' `(kid, x)`: published, never used to sign.
    retired: Vec<(String, String)>,
    /// The id and name certificates give their issuer.
    credential_issuer: String,
    /// Where this service answers, as the status lists' URLs start.
    public_base: String,
}

/// Seconds an access token is still taken after its `exp` (clock skew).
pub const LEEWAY_SECONDS: u64 = 5;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    /// The session (login family) this token belongs to.
    pub sid: Uuid,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

impl SigningKeys {
    /// Uses the configured key, or reads the key file, or creates it (and warns:
    /// production should configure a key that every instance shares).
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        let pem = match &settings.signing_key {
            Some(pem) => pem.expose().to_owned(),
            None => read_or_create(&settings.signing_key_path())?,
        };
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
            anyhow::anyhow!(
                "invalid setting KARTEL_SIGNING_KEY: not an Ed25519 PKCS#8 PEM key ({e})"
            )
        })?;
        Self::from_signing_key(&key, settings)
    }

    fn from_signing_key(key: &SigningKey, settings: &Settings) -> anyhow::Result<Self> {
        let der = key
            .to_pkcs8_der()
            .map_err(|e| anyhow::anyhow!("encoding the signing key: {e}"))?;
        let public = key.verifying_key().to_bytes();
        let kid = kid_of(&public);
        let retired = retired_keys(&settings.retired_public_keys)?
            .into_iter()
            .filter(|(k, _)| *k != kid)
            .collect();
        Ok(Self {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            decoding: DecodingKey::from_ed_der(&public),
            kid,
            public_x: URL_SAFE_NO_PAD.encode(public),
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
            access_ttl: settings.access_token_ttl_seconds,
            retired,
            credential_issuer: settings
                .issuer_url
                .clone()
                .unwrap_or_else(|| format!("urn:kartel:{}", settings.jwt_issuer)),
            public_base: String::new(),
        })
        .map(|k| k.serving_at(settings.addr))
    }

    /// Where this service answers, for the URLs of the documents it
    /// publishes (the status lists): the issuer URL when it is an HTTP(S)
    /// URL, otherwise the address it listens on (a laptop, a test on port
    /// 0 once bound).
    pub fn serving_at(mut self, addr: std::net::SocketAddr) -> Self {
        let issuer = &self.credential_issuer;
        self.public_base = if issuer.starts_with("https://") || issuer.starts_with("http://") {
            issuer.trim_end_matches('/').to_owned()
        } else {
            format!("http://{addr}")
        };
        self
    }

    pub fn issue_access_token(&self, user: Uuid, session: Uuid) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user,
            sid: session,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + self.access_ttl,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, &claims, &self.encoding)?)
    }

    /// Accepts only EdDSA tokens of our key, issuer and audience, not expired.
    pub fn verify_access_token(&self, token: &str) -> Option<Claims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        // A certificate (`typ` vc+jwt), signed by the same key, is never an access token.
        if header.alg != Algorithm::EdDSA
            || header.kid.as_deref() != Some(self.kid.as_str())
            || header.typ.as_deref() == Some("vc+jwt")
        {
            return None;
        }
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = LEEWAY_SECONDS;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .ok()
            .map(|d| d.claims)
    }

    /// The current key first, then the retired ones.
    pub fn jwks(&self) -> serde_json::Value {
        let jwk = |kid: &str, x: &str| serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": x });
        let mut keys = vec![jwk(&self.kid, &self.public_x)];
        keys.extend(self.retired.iter().map(|(kid, x)| jwk(kid, x)));
        serde_json::json!({ "keys": keys })
    }
}

impl kartel_domain::tiers::CredentialSigner for SigningKeys {
    fn issuer(&self) -> (String, String) {
        (self.credential_issuer.clone(), "Kartel".to_owned())
    }

    fn sign(&self, claims: &serde_json::Value) -> anyhow::Result<(String, String)> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = Some("vc+jwt".to_owned());
        Ok((
            self.kid.clone(),
            jsonwebtoken::encode(&header, claims, &self.encoding)?,
        ))
    }

    fn kid(&self) -> String {
        self.kid.clone()
    }

    fn status_list_url(&self, list: Uuid) -> String {
        format!("{}/api/v1/status-lists/{list}", self.public_base)
    }
}

/// A key's id: the first 12 bytes of the public key's SHA-256, base64url.
fn kid_of(public: &[u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(public)[..12])
}

/// Parses `KARTEL_RETIRED_PUBLIC_KEYS` into `(kid, x)` pairs.
fn retired_keys(raw: &str) -> anyhow::Result<Vec<(String, String)>> {
    raw.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| {
            let bytes: [u8; 32] = URL_SAFE_NO_PAD
                .decode(x)
                .ok()
                .and_then(|b| b.try_into().ok())
                .filter(|b| ed25519_dalek::VerifyingKey::from_bytes(b).is_ok())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "invalid setting KARTEL_RETIRED_PUBLIC_KEYS: {x:?} is not an Ed25519 public key (a JWK x, base64url)"
                    )
                })?;
            Ok((kid_of(&bytes), x.to_owned()))
        })
        .collect()
}

/// A new random Ed25519 key as PKCS#8 PEM.
pub fn generate_pem() -> anyhow::Result<String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    Ok(key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("encoding a key: {e}"))?
        .to_string())
}

fn read_or_create(path: &Path) -> anyhow::Result<String> {
    if path.exists() {
        return std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!(
                "invalid setting KARTEL_SIGNING_KEY_FILE: cannot read {}: {e}",
                path.display()
            )
        });
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let pem = generate_pem()?;
    match write_private(path, &pem) {
        Ok(()) => {}
        // Another instance created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Ok(std::fs::read_to_string(path)?);
        }
        Err(e) => {
            return Err(anyhow::anyhow!(
                "cannot write the signing key to {}: {e}",
                path.display()
            ));
        }
    }
    tracing::warn!(
        path = %path.display(),
        "generated a new signing key; in production configure KARTEL_SIGNING_KEY or KARTEL_SIGNING_KEY_FILE \
         and share it between instances"
    );
    Ok(pem)
}

#[cfg(unix)]
fn write_private(path: &Path, pem: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(pem.as_bytes())?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, pem: &str) -> std::io::Result<()> {
    std::fs::write(path, pem)
}
