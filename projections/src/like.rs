//! `LIKE` patterns from user input: a search term is matched literally, so `%`, `_` and `\` in it
//! are escaped (backslash is PostgreSQL's default `LIKE` escape character) and only the
//! surrounding `%` act as wildcards.

/// The pattern that finds `term` anywhere in a value, every character of `term` taken literally.
pub fn contains(term: &str) -> String {
    let mut pattern = String::with_capacity(term.len() + 2);
    pattern.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_terms_are_wrapped_in_wildcards() {
        assert_eq!(contains("maria"), "%maria%");
    }

    #[test]
    fn wildcards_and_the_escape_character_in_a_term_are_escaped() {
        assert_eq!(contains("50%"), "%50\\%%");
        assert_eq!(contains("a_b"), "%a\\_b%");
        assert_eq!(contains("c:\\x"), "%c:\\\\x%");
    }
}
