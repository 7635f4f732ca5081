//! The contact a message from a phone goes to (`receiveInboundMessage` on phone channels): the
//! holder of the claim of the phone's routing key once its events show it routing by that key,
//! else a contact registered with the phone. A message never goes to a contact that does not
//! exist, and one routing key (Brazil's mobiles with or without the ninth digit share one) never
//! gets two contacts.
//!
//! A claim whose holder does not route by the key (read from its events, never from the contacts
//! read model) belongs to a registration either still committing or never to commit (a crash
//! between the claim and the event). Nothing in the database tells the two apart, so:
//!
//! - A stale claim (older than [`phone_keys::STALE_CLAIM`]) is taken over by registering the
//!   contact: [`register_contact`] claims through [`phone_keys::claim`], whose compare-and-set on the
//!   holder lets one claimant win. Concurrent messages from the phone make one contact; the
//!   others wait for it as for any fresh claim.
//! - A fresh claim is waited on, its holder's events read every 50 ms for up to
//!   [`FRESH_CLAIM_WAIT`]: a registration commits within milliseconds, and its contact then
//!   takes the message. Taking a fresh claim over would make a second contact of the phone if
//!   the registration committed after all, so when the holder still does not route by the key
//!   after the wait (most likely a crash less than a minute ago) the message is refused with a
//!   CONFLICT to retry. Nothing was written: the gateway's redelivery goes through, at the latest once the
//!   claim is stale.

use std::time::{Duration, Instant};

use domain::contact::ContactInput;
use uuid::Uuid;

use crate::contacts::phone_keys;
use crate::contacts::register::register_contact;
use crate::context::CommandContext;
use crate::error::{CommandError, CommandResult};
use crate::Commands;

/// How long a message waits for the registration holding a fresh claim to commit: far above the
/// time one takes, far below a gateway's request timeout.
pub const FRESH_CLAIM_WAIT: Duration = Duration::from_secs(2);

/// How often the holder of a fresh claim is read while waiting.
const POLL: Duration = Duration::from_millis(50);

/// The contact of `account_id` routed by `key`; when none is, `contact` (whose phone has that
/// routing key) is registered and its id returned.
pub async fn find_or_register(
    c: &Commands,
    ctx: &CommandContext,
    account_id: Uuid,
    key: &str,
    contact: ContactInput,
) -> CommandResult<Uuid> {
    let started = Instant::now();
    // The holder of a fresh claim, once it refused our registration: only its events are read
    // until the claim changes hands.
    let mut waiting_for = None;
    loop {
        let holder = phone_keys::holder(&c.pool, account_id, key).await?;
        if let Some(id) = holder {
            if phone_keys::routes_by(c, id, account_id, key).await? {
                return Ok(id);
            }
        }
        if holder.is_none() || holder != waiting_for {
            match register_contact(c, ctx, account_id, contact.clone(), Vec::new()).await {
                Ok(id) => return Ok(id),
                Err(CommandError::Conflict {
                    existing_id: Some(id),
                    ..
                }) => {
                    if phone_keys::routes_by(c, id, account_id, key).await? {
                        return Ok(id);
                    }
                    waiting_for = Some(id);
                }
                Err(e) => return Err(e),
            }
        }
        if started.elapsed() >= FRESH_CLAIM_WAIT {
            return Err(CommandError::Conflict {
                message: "the contact of this phone is still being registered; retry".into(),
                existing_id: None,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}
