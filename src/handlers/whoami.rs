//! `P.v1.whoami`: the signer's own record, so anyone can learn their handle, role and
//! sites (or, for an agent key, its machine) without an admin permission. An extension
//! of PROTOCOL §4.

use crate::domain::MachineId;
use crate::store::records::MachineState;
use crate::wire::whoami::{WhoamiReply, WhoamiRequest};
use crate::wire::{ApiError, ErrorCode};

use super::{machine_get, user_get, Admin, Ctx, Signed};

/// `by_user` is the signer as an active user, if it is one; otherwise its key may be an
/// enrolled machine's agent key (active or pending). Anyone else is `unauthorized`
/// before anything is written for it.
pub(super) async fn handle(
    ctx: &Ctx,
    signed: &Signed,
    by_user: Option<&Admin>,
    _req: WhoamiRequest,
) -> Result<WhoamiReply, ApiError> {
    if let Some(user) = by_user.and_then(Admin::user) {
        ctx.spend_nonce(signed).await?;
        return Ok(WhoamiReply {
            user: Some(user_get::view(&user.value)),
            machine: None,
        });
    }
    let machine = ctx
        .store
        .machine(&MachineId::for_agent(&signed.key))
        .await?
        .filter(|m| matches!(m.value.state, MachineState::Active | MachineState::Pending))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthorized,
                "the signing key is not a roster identity (register with an invite, or enroll)",
            )
        })?;
    ctx.spend_nonce(signed).await?;
    Ok(WhoamiReply {
        user: None,
        machine: Some(machine_get::view(&machine.value)),
    })
}
