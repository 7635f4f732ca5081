//! Folding for search: read models store a folded copy of names and compare it with the folded
//! query, so search ignores case, accents and extra spaces (`JOSÉ  da silva` finds `José da Silva`).

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Lowercase, without accents (NFD, then combining marks dropped), whitespace collapsed to single
/// spaces and trimmed.
pub fn fold(s: &str) -> String {
    let stripped: String = s
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .collect::<String>()
        .to_lowercase();
    stripped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Only the ASCII digits, for punctuation-insensitive search of documents and phones.
pub fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_drops_case_accents_and_extra_spaces() {
        assert_eq!(fold("  JOSÉ   da  Conceição "), "jose da conceicao");
        assert_eq!(fold("Ñandú Über"), "nandu uber");
        assert_eq!(fold(""), "");
    }

    #[test]
    fn digits_keeps_only_digits() {
        assert_eq!(digits("529.982.247-25"), "52998224725");
        assert_eq!(digits("+55 (11) 98765-4321"), "5511987654321");
    }
}
