//! A bounded map that keeps what was used recently: two generations of at most half the
//! capacity each. New and used entries go into the young one; when it is full it becomes the
//! old one and the old one is dropped. An entry used at least once per half-capacity insertions
//! stays, so a full map forgets its coldest half instead of everything at once.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

/// At most `capacity` entries, the least recently used half forgotten first.
pub struct Recent<K, V> {
    young: HashMap<K, V>,
    old: HashMap<K, V>,
    half: usize,
}

impl<K: Hash + Eq, V> Recent<K, V> {
    /// An empty map holding at most `capacity` entries (at least 2).
    pub fn new(capacity: usize) -> Self {
        Self {
            young: HashMap::new(),
            old: HashMap::new(),
            half: (capacity / 2).max(1),
        }
    }

    /// The value of `key`, which counts as a use: an old entry moves to the young generation.
    pub fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if !self.young.contains_key(key) {
            let (key, value) = self.old.remove_entry(key)?;
            self.insert(key, value);
        }
        self.young.get(key)
    }

    /// Sets `key` to `value` in the young generation, turning a full one into the old one first.
    pub fn insert(&mut self, key: K, value: V) {
        self.old.remove(&key);
        if self.young.len() >= self.half && !self.young.contains_key(&key) {
            // The old generation's allocation is reused for the new young one.
            std::mem::swap(&mut self.young, &mut self.old);
            self.young.clear();
        }
        self.young.insert(key, value);
    }

    /// Forgets `key`.
    pub fn remove<Q>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.young.remove(key);
        self.old.remove(key);
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::Recent;

    #[test]
    fn it_never_holds_more_than_its_capacity() {
        let mut r = Recent::new(10);
        for i in 0..1_000 {
            r.insert(i, i);
            assert!(r.len() <= 10, "{} entries after {i}", r.len());
        }
        assert_eq!(r.len(), 10);
        assert_eq!(r.get(&999), Some(&999));
        assert_eq!(r.get(&989), None);
    }

    #[test]
    fn an_entry_used_between_rotations_survives_a_stream_of_new_ones() {
        let mut r = Recent::new(10);
        r.insert("hot".to_string(), 0);
        for i in 0..1_000 {
            r.insert(format!("cold {i}"), i);
            if i % 4 == 0 {
                assert_eq!(r.get("hot"), Some(&0), "lost after {i} insertions");
            }
        }
        assert_eq!(r.get("hot"), Some(&0));
        assert_eq!(r.get("cold 0"), None);
    }

    #[test]
    fn an_unused_entry_is_forgotten_after_two_generations() {
        let mut r = Recent::new(4);
        r.insert(0, "first");
        r.insert(1, "a");
        r.insert(2, "b");
        assert_eq!(
            r.get(&0),
            Some(&"first"),
            "in the old generation, moved back"
        );
        r.insert(3, "c");
        r.insert(4, "d");
        r.insert(5, "e");
        r.insert(6, "f");
        assert_eq!(r.get(&0), None);
    }

    #[test]
    fn an_updated_or_removed_entry_is_not_seen_as_it_was() {
        let mut r = Recent::new(4);
        r.insert("a", 1);
        r.insert("b", 1);
        r.insert("c", 1); // "a" and "b" are now old
        r.insert("a", 2);
        assert_eq!(r.get("a"), Some(&2));
        r.remove("b");
        r.remove("a");
        assert_eq!(r.get("a"), None);
        assert_eq!(r.get("b"), None);
        assert_eq!(r.len(), 1);
    }
}
