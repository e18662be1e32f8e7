//! Unit tests of `crypto::keys` (a separate file so test-only unwraps stay out of the module).

use super::*;

#[test]
fn the_low_order_blocklist_agrees_with_a_real_exchange() {
    let probe = StaticSecret::from([0x5a; 32]);
    let dh = |b: [u8; 32]| {
        probe
            .diffie_hellman(&XPublicKey::from(b))
            .was_contributory()
    };
    for p in X25519_LOW_ORDER {
        assert!(!is_contributory_kex_key(&p));
        assert!(!dh(p));
        let mut high = p;
        high[31] |= 0x80;
        assert!(
            !is_contributory_kex_key(&high),
            "the ignored top bit does not help"
        );
        assert!(!dh(high));
    }
    for _ in 0..200 {
        let k = XPublicKey::from(&StaticSecret::random_from_rng(OsRng)).to_bytes();
        assert!(is_contributory_kex_key(&k) && dh(k));
    }
}
