//! Property tests: every request decoder and domain parser, fed arbitrary input, never
//! panics and answers with the documented code (`bad_request`) or a valid value.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use proptest::prelude::*;
use roster::crypto::{Secret, SecretKind};
use roster::domain::{
    Handle, InviteId, KexKey, MachineId, MachineUid, ProductName, Role, SignKey, SiteCode, Tenant,
};
use roster::handlers::{verify_signed, HandlerConfig};
use roster::wire::{
    self, admin, enroll::EnrollRequest, register::RegisterRequest, revoke::RevokeRequest, ErrorCode,
};

fn decodes_or_bad_request<T: serde::de::DeserializeOwned>(body: &[u8]) {
    if let Err(e) = wire::decode_body::<T>(body) {
        assert_eq!(e.code, ErrorCode::BadRequest);
    }
}

fn all_decoders(body: &[u8]) {
    decodes_or_bad_request::<RegisterRequest>(body);
    decodes_or_bad_request::<EnrollRequest>(body);
    decodes_or_bad_request::<RevokeRequest>(body);
    decodes_or_bad_request::<admin::InviteCreateRequest>(body);
    decodes_or_bad_request::<admin::InviteListRequest>(body);
    decodes_or_bad_request::<admin::InviteIdRequest>(body);
    decodes_or_bad_request::<admin::UserListRequest>(body);
    decodes_or_bad_request::<admin::HandleRequest>(body);
    decodes_or_bad_request::<admin::SetRoleRequest>(body);
    decodes_or_bad_request::<admin::AuditQueryRequest>(body);
    decodes_or_bad_request::<admin::SiteCreateRequest>(body);
    decodes_or_bad_request::<admin::SiteListRequest>(body);
    decodes_or_bad_request::<admin::SiteRef>(body);
    decodes_or_bad_request::<admin::RotateKeyRequest>(body);
    decodes_or_bad_request::<admin::MachineListRequest>(body);
    decodes_or_bad_request::<admin::MachineIdRequest>(body);
    decodes_or_bad_request::<admin::TenantCreateRequest>(body);
    decodes_or_bad_request::<admin::TenantListRequest>(body);
    decodes_or_bad_request::<admin::TenantRef>(body);
    decodes_or_bad_request::<admin::TenantUpdateRequest>(body);
    decodes_or_bad_request::<admin::TenantSetStatusRequest>(body);
    decodes_or_bad_request::<admin::TenantSetProductRequest>(body);
}

/// JSON objects built from the protocol's own field names with arbitrary values.
fn json_objects() -> impl Strategy<Value = String> {
    let keys = prop::sample::select(vec![
        "invite",
        "kex_pub",
        "handle",
        "role",
        "ttl_secs",
        "state",
        "limit",
        "cursor",
        "invite_id",
        "sites",
        "site",
        "tenant",
        "enrollment_key",
        "machine_uid",
        "hostname",
        "os",
        "agent_version",
        "agent_kex",
        "user",
        "machine",
        "reason",
        "action",
        "actor",
        "target",
        "since",
        "until",
        "grace_secs",
        "policy",
        "display_name",
        "machine_id",
        "name",
        "status",
        "kind",
        "plan",
        "trial_ends_at",
        "contract_start",
        "contract_end",
        "erp_customer_id",
        "stripe_customer_id",
        "sales_owner",
        "products",
        "product",
        "enabled",
        "config",
        "expires_at",
    ]);
    let value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        "[a-zA-Z0-9_./ -]{0,40}".prop_map(|s| format!("{s:?}")),
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("\"member\"".to_owned()),
        Just(format!("\"{}\"", "ab".repeat(32))),
    ];
    prop::collection::vec((keys, value), 0..6).prop_map(|kv| {
        let fields: Vec<String> = kv
            .into_iter()
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .collect();
        format!("{{{}}}", fields.join(","))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic_a_decoder(body in prop::collection::vec(any::<u8>(), 0..300)) {
        all_decoders(&body);
    }

    #[test]
    fn protocol_shaped_objects_decode_or_are_bad_request(body in json_objects()) {
        all_decoders(body.as_bytes());
    }

    #[test]
    fn domain_parsers_accept_only_their_grammar(s in "\\PC{0,40}") {
        if let Ok(h) = Handle::parse(&s) {
            prop_assert!((3..=32).contains(&h.as_str().len()));
            prop_assert!(h.as_str().bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-'));
        }
        if let Ok(t) = Tenant::parse(&s) {
            // The slug rule: one KV key token and one NATS subject token.
            prop_assert!((3..=40).contains(&t.as_str().len()));
            prop_assert!(t.as_str().bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'));
            prop_assert!(!t.as_str().starts_with('-') && !t.as_str().ends_with('-'));
        }
        if let Ok(p) = ProductName::parse(&s) {
            prop_assert!(!p.as_str().is_empty() && p.as_str().len() <= 32);
            prop_assert!(p.as_str().bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-'));
        }
        if let Ok(code) = SiteCode::parse(&s) {
            prop_assert_eq!(code.as_str(), s.to_ascii_uppercase());
            prop_assert_eq!(SiteCode::parse(&s.to_ascii_lowercase()).unwrap(), code);
        }
        if let Ok(r) = Role::parse(&s) {
            prop_assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        let _ = InviteId::parse(&s);
        let _ = MachineId::parse(&s);
        if let Ok(u) = MachineUid::parse(&s) {
            prop_assert!(!u.as_str().is_empty() && u.as_str().len() <= 128);
        }
        let _ = SignKey::parse(&s);
        let _ = KexKey::parse(&s);
        for kind in [SecretKind::Invite, SecretKind::Enrollment, SecretKind::Credential] {
            prop_assert!(Secret::parse(kind, &s).is_err(), "random text is never a valid secret");
        }
    }

    #[test]
    fn any_hex_key_parses_or_is_refused(bytes in prop::array::uniform32(any::<u8>())) {
        let hex = hex::encode(bytes);
        let _ = SignKey::parse(&hex);
        let _ = KexKey::parse(&hex);
    }

    #[test]
    fn a_mistyped_secret_is_refused(pos in 4usize..62, replacement in "[a-z2-7]") {
        let s = Secret::mint(SecretKind::Invite);
        let mut text: Vec<char> = s.expose().chars().collect();
        let r = replacement.chars().next().unwrap();
        prop_assume!(text[pos] != r);
        text[pos] = r;
        let typo: String = text.into_iter().collect();
        prop_assert!(Secret::parse(SecretKind::Invite, &typo).is_err());
    }

    #[test]
    fn arbitrary_signature_headers_never_panic(
        key in "[0-9a-fA-F]{0,70}",
        ts in "[0-9+-]{0,20}",
        nonce in "[0-9a-z]{0,40}",
        sig in "[0-9a-f]{0,130}",
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut h = async_nats::HeaderMap::new();
        h.insert(wire::HDR_KEY, key.as_str());
        h.insert(wire::HDR_TS, ts.as_str());
        h.insert(wire::HDR_NONCE, nonce.as_str());
        h.insert(wire::HDR_SIG, sig.as_str());
        let now = roster::time_util::Clock::system().now();
        match verify_signed(&HandlerConfig::default(), now, "roster.v1.register", Some(&h), &body) {
            Ok(_) => prop_assert!(false, "a random signature verified"),
            Err(e) => prop_assert!(matches!(e.code, ErrorCode::BadRequest | ErrorCode::InvalidSignature | ErrorCode::StaleRequest)),
        }
    }
}
