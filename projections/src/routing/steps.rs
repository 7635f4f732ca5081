//! A run's counter deltas folded into one step per counter, so that the routing projection can
//! write its counters without reading them first.
//!
//! A single event changes a counter by its delta with a floor at zero (`max(0, n + by)`). A run
//! applies many deltas in log order; applying them one by one takes a stored value `n` to
//! `max(floor, n + sum)` for some `floor` and `sum` that depend on the deltas only, since
//! `max(0, max(floor, n + sum) + by) = max(max(0, floor + by), n + sum + by)`. The statement
//! that writes the counters computes that from the stored value, which equals reading the
//! counter, applying every delta in memory and writing the result back, in one round trip less.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::place::Delta;

/// What a sequence of deltas does to a counter: `n ↦ max(floor, n + sum)`. Counters are never
/// negative (every write floors them at zero), which makes [`Step::NONE`] the identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub floor: i32,
    pub sum: i32,
}

impl Step {
    /// No delta: `n ↦ max(0, n)`, which is `n` for every stored counter.
    pub const NONE: Step = Step { floor: 0, sum: 0 };

    /// This step followed by one event's delta `by` (floored at zero).
    pub fn then(self, by: i32) -> Step {
        Step {
            floor: self.floor.saturating_add(by).max(0),
            sum: self.sum.saturating_add(by),
        }
    }

    /// The counter after this step, from its stored value (0 when it has no row yet): what the
    /// routing projection's statement computes in SQL (`GREATEST(floor, n + sum)`).
    #[cfg(test)]
    pub fn apply(self, n: i32) -> i32 {
        self.floor.max(n.saturating_add(self.sum))
    }
}

/// The steps of a run's counters, by key (in key order: the order the rows are written in).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Steps {
    pub waiting: BTreeMap<Uuid, Step>,
    pub in_progress: BTreeMap<Uuid, Step>,
}

impl Steps {
    /// The deltas of a run, in log order, folded per counter.
    pub fn of(deltas: &[Delta]) -> Steps {
        let mut steps = Steps::default();
        for d in deltas {
            let (counter, by) = match *d {
                Delta::Waiting { service_id, by } => {
                    (steps.waiting.entry(service_id).or_insert(Step::NONE), by)
                }
                Delta::InProgress { agent_id, by } => {
                    (steps.in_progress.entry(agent_id).or_insert(Step::NONE), by)
                }
            };
            *counter = counter.then(by);
        }
        steps
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty() && self.in_progress.is_empty()
    }
}

/// The columns of one kind of counter as the statement binds them: keys, floors, sums.
pub fn columns(steps: &BTreeMap<Uuid, Step>) -> (Vec<Uuid>, Vec<i32>, Vec<i32>) {
    let mut ids = Vec::with_capacity(steps.len());
    let mut floors = Vec::with_capacity(steps.len());
    let mut sums = Vec::with_capacity(steps.len());
    for (id, s) in steps {
        ids.push(*id);
        floors.push(s.floor);
        sums.push(s.sum);
    }
    (ids, floors, sums)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a run did before steps: each delta applied in order, floored at zero.
    fn one_by_one(n: i32, deltas: &[i32]) -> i32 {
        deltas.iter().fold(n, |n, by| (n + by).max(0))
    }

    fn folded(deltas: &[i32]) -> Step {
        deltas.iter().fold(Step::NONE, |s, by| s.then(*by))
    }

    #[test]
    fn a_step_equals_the_deltas_applied_one_by_one() {
        let runs: &[&[i32]] = &[
            &[],
            &[1],
            &[-1],
            &[-1, 1],
            &[1, -1],
            &[-1, -1, 1],
            &[1, 1, -1, -1, -1, 1],
            &[-3, 2, -1, 4, -6, 1],
            &[2, -5, 3],
        ];
        for deltas in runs {
            for n in 0..8 {
                assert_eq!(
                    folded(deltas).apply(n),
                    one_by_one(n, deltas),
                    "deltas {deltas:?} from {n}"
                );
            }
        }
    }

    #[test]
    fn every_short_run_of_unit_deltas_agrees() {
        // All 2^10 runs of ten ±1 deltas, from every start up to 6.
        for bits in 0u32..1024 {
            let deltas: Vec<i32> = (0..10)
                .map(|i| if bits >> i & 1 == 1 { 1 } else { -1 })
                .collect();
            for n in 0..7 {
                assert_eq!(folded(&deltas).apply(n), one_by_one(n, &deltas));
            }
        }
    }

    #[test]
    fn a_floor_in_the_middle_is_not_undone_by_the_sum() {
        // 0 → -1 floors to 0, then +1: 1, where the plain sum would say 0.
        let s = folded(&[-1, 1]);
        assert_eq!(s, Step { floor: 1, sum: 0 });
        assert_eq!(s.apply(0), 1);
        assert_eq!(s.apply(5), 5);
    }

    #[test]
    fn steps_group_deltas_per_counter_in_log_order() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        let steps = Steps::of(&[
            Delta::Waiting {
                service_id: a,
                by: -1,
            },
            Delta::InProgress { agent_id: b, by: 1 },
            Delta::Waiting {
                service_id: a,
                by: 1,
            },
        ]);
        assert_eq!(steps.waiting[&a], Step { floor: 1, sum: 0 });
        assert_eq!(steps.in_progress[&b], Step { floor: 1, sum: 1 });
        assert!(!steps.is_empty());
        assert!(Steps::of(&[]).is_empty());
    }
}
