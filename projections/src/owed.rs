//! Lane progress a mutation did not wait for, owed to its caller's later reads.
//!
//! A mutation waits until the read models its answer is built from hold what it committed. A
//! lane whose tables the answer does not read (the routing projection's counters, for an
//! attendance mutation) is not waited for: the position of the commit is written down here under
//! the caller, and the caller's next read of that lane's tables (`counters`) waits until the lane
//! has passed it. The caller still reads their own writes, and a mutation does not spend a lane's
//! cycle on a read that may never come.
//!
//! The record lives in this process's memory: a read served by another process does not wait
//! for it, and sees the lane as it stands (a few milliseconds behind under load, like any
//! change made by someone else). It holds at most one position per caller and lane, and drops
//! positions the lanes have passed whenever it grows past [`PRUNE_AT`].

use std::collections::HashMap;
use std::sync::Mutex;

use crate::log::Checkpoint;

/// Entries beyond which [`Owed::owe`] drops those already reached.
pub const PRUNE_AT: usize = 10_000;

/// Per (caller, lane index): the last position of the caller's commits the lane still owes.
#[derive(Default)]
pub struct Owed(Mutex<HashMap<(String, usize), Checkpoint>>);

impl Owed {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<(String, usize), Checkpoint>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes that lane `lane` owes `owner` everything up to `at`; `reached` tells whether a
    /// lane has passed a position (used to prune).
    pub fn owe(
        &self,
        owner: &str,
        lane: usize,
        at: Checkpoint,
        reached: impl Fn(usize, Checkpoint) -> bool,
    ) {
        let mut entries = self.entries();
        if entries.len() >= PRUNE_AT {
            entries.retain(|(_, l), cp| !reached(*l, *cp));
        }
        let owed = entries.entry((owner.to_string(), lane)).or_default();
        *owed = (*owed).max(at);
    }

    /// What lanes `lanes` owe `owner`, dropping what they have already passed.
    pub fn owed_to(
        &self,
        owner: &str,
        lanes: &[usize],
        reached: impl Fn(usize, Checkpoint) -> bool,
    ) -> Vec<(usize, Checkpoint)> {
        let mut entries = self.entries();
        let mut out = Vec::new();
        for &lane in lanes {
            let key = (owner.to_string(), lane);
            match entries.get(&key) {
                Some(&cp) if reached(lane, cp) => {
                    entries.remove(&key);
                }
                Some(&cp) => out.push((lane, cp)),
                None => {}
            }
        }
        out
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(position: i64) -> Checkpoint {
        Checkpoint { tx_id: 1, position }
    }

    #[test]
    fn keeps_the_latest_position_per_owner_and_lane() {
        let owed = Owed::default();
        let never = |_: usize, _: Checkpoint| false;
        owed.owe("a", 0, cp(5), never);
        owed.owe("a", 0, cp(3), never);
        owed.owe("a", 1, cp(4), never);
        owed.owe("b", 0, cp(9), never);
        assert_eq!(
            owed.owed_to("a", &[0, 1], never),
            vec![(0, cp(5)), (1, cp(4))]
        );
        assert_eq!(owed.owed_to("a", &[1], never), vec![(1, cp(4))]);
        assert_eq!(owed.owed_to("c", &[0], never), vec![]);
    }

    #[test]
    fn what_a_lane_has_passed_is_no_longer_owed() {
        let owed = Owed::default();
        owed.owe("a", 0, cp(5), |_, _| false);
        let passed_4 = |_: usize, at: Checkpoint| at <= cp(4);
        assert_eq!(owed.owed_to("a", &[0], passed_4), vec![(0, cp(5))]);
        let passed_5 = |_: usize, at: Checkpoint| at <= cp(5);
        assert_eq!(owed.owed_to("a", &[0], passed_5), vec![]);
        assert_eq!(owed.len(), 0);
    }

    #[test]
    fn a_full_record_drops_what_was_reached() {
        let owed = Owed::default();
        for i in 0..PRUNE_AT {
            owed.owe(&i.to_string(), 0, cp(i as i64), |_, _| false);
        }
        assert_eq!(owed.len(), PRUNE_AT);
        // Positions below 100 are reached: they go when the next entry is written.
        owed.owe("new", 0, cp(1), |_, at| at < cp(100));
        assert_eq!(owed.len(), PRUNE_AT - 100 + 1);
    }
}
