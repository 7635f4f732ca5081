//! A field of a partial update: absent (leave it), null (clear it) or a new value.

/// One field of a partial update, as the contract's `updateContact` reads its input: an absent
/// field stays as it is, an explicit null clears it, a value replaces it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    #[default]
    Absent,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Patch::Absent => Patch::Absent,
            Patch::Clear => Patch::Clear,
            Patch::Set(v) => Patch::Set(f(v)),
        }
    }
}

/// `None` is absent, `Some(None)` is null, `Some(Some(v))` is a value: the usual Rust spelling
/// of a nullable optional field.
impl<T> From<Option<Option<T>>> for Patch<T> {
    fn from(v: Option<Option<T>>) -> Self {
        match v {
            None => Patch::Absent,
            Some(None) => Patch::Clear,
            Some(Some(v)) => Patch::Set(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_defaults_to_absent_and_converts_from_a_double_option() {
        assert_eq!(Patch::<u8>::default(), Patch::Absent);
        assert_eq!(Patch::from(None::<Option<u8>>), Patch::Absent);
        assert_eq!(Patch::from(Some(None::<u8>)), Patch::Clear);
        assert_eq!(Patch::from(Some(Some(3))).map(|v| v * 2), Patch::Set(6));
        assert!(Patch::<u8>::Absent.is_absent());
    }
}
