//! What the domain asks of the API's signing key: to sign a credential
//! (a certificate, a status list) and to say where the lists are published.

use uuid::Uuid;

/// Signs credentials with the service's current key.
pub trait CredentialSigner: Send + Sync {
    /// The issuer's id (a URI) and its name, as the credential names them.
    fn issuer(&self) -> (String, String);
    /// A compact JWS (`alg` EdDSA, `typ` `vc+jwt`, the key's `kid`) over
    /// `claims`; returns the `kid` and the JWS.
    fn sign(&self, claims: &serde_json::Value) -> anyhow::Result<(String, String)>;
    /// The `kid` of the key that signs now.
    fn kid(&self) -> String;
    /// The URL where status list `list` is published (certificates name it
    /// as their `statusListCredential`).
    fn status_list_url(&self, list: Uuid) -> String;
}
