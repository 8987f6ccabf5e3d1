//! Did-you-mean suggestions and candidate lists for help texts.
//!
//! Every "cannot find" and "unknown field" diagnostic goes through here, so that all of them phrase
//! their help the same way.

/// Candidate lists up to this length are spelled out in full in help texts.
pub const SHORT_LIST: usize = 8;

/// The candidate closest to `name` by edit distance, when it is close enough to be a likely typo.
///
/// A candidate counts when it differs only in letter case, or when its Damerau-Levenshtein distance
/// is at most a third of the longer name's length (and at least 1), which catches a swapped or
/// missing letter without suggesting unrelated short names. Ties go to the alphabetically first
/// candidate so that the result does not depend on declaration order.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower_name = name.to_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        if candidate == name {
            continue;
        }
        let distance = if candidate.to_lowercase() == lower_name {
            0
        } else {
            strsim::damerau_levenshtein(&lower_name, &candidate.to_lowercase())
        };
        let allowed = (name.chars().count().max(candidate.chars().count()) / 3).max(1);
        if distance > allowed {
            continue;
        }
        let better = match best {
            None => true,
            Some((best_distance, best_candidate)) => {
                distance < best_distance
                    || (distance == best_distance && candidate < best_candidate)
            }
        };
        if better {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// `a`, `b` and `c` in backticks, for help texts that list what exists.
pub fn quoted_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    joined(names, "and")
}

/// `a`, `b` or `c` in backticks, for help texts that list what may be chosen.
pub fn quoted_alternatives<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    joined(names, "or")
}

fn joined<'a>(names: impl IntoIterator<Item = &'a str>, conjunction: &str) -> String {
    let names: Vec<String> = names.into_iter().map(|name| format!("`{name}`")).collect();
    match names.len() {
        0 => String::new(),
        1 => names[0].clone(),
        count => format!(
            "{} {conjunction} {}",
            names[..count - 1].join(", "),
            names[count - 1]
        ),
    }
}

/// The help for a name that was not found among `candidates` (which are described as `what`, a
/// plural such as "entities"): a did-you-mean when one is close, and the candidates when they are
/// few. `otherwise` is the help when nothing else can be said (e.g. how to declare the name).
pub fn help_for_unknown(
    name: &str,
    candidates: &[&str],
    what: &str,
    otherwise: impl FnOnce() -> String,
) -> String {
    let mut sorted: Vec<&str> = candidates.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let suggestion = closest(name, sorted.iter().copied());
    let short_list = !sorted.is_empty() && sorted.len() <= SHORT_LIST;
    match (suggestion, short_list) {
        (Some(suggestion), true) => format!(
            "did you mean `{suggestion}`? (the {what} are {})",
            quoted_list(sorted.iter().copied())
        ),
        (Some(suggestion), false) => format!("did you mean `{suggestion}`?"),
        (None, true) => format!(
            "{}; the {what} are {}",
            otherwise(),
            quoted_list(sorted.iter().copied())
        ),
        (None, false) => otherwise(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_a_name_one_typo_away() {
        assert_eq!(closest("Mesage", ["User", "Message"]), Some("Message"));
        assert_eq!(
            closest("entites", ["fn", "entities", "auth"]),
            Some("entities")
        );
    }

    #[test]
    fn suggests_a_name_that_differs_only_in_case() {
        assert_eq!(closest("sqlite", ["SQLite", "PostgreSQL"]), Some("SQLite"));
    }

    #[test]
    fn does_not_suggest_unrelated_names() {
        assert_eq!(closest("Banana", ["User", "Message"]), None);
        assert_eq!(closest("fn", ["id"]), None);
    }

    #[test]
    fn ties_go_to_the_alphabetically_first_candidate() {
        assert_eq!(closest("Cat", ["Hat", "Bat"]), Some("Bat"));
    }

    #[test]
    fn help_lists_short_candidate_lists() {
        let help = help_for_unknown("Mesage", &["User", "Message"], "entities", String::new);
        assert_eq!(
            help,
            "did you mean `Message`? (the entities are `Message` and `User`)"
        );
        let help = help_for_unknown("Zzz", &["User"], "entities", || "declare it".to_string());
        assert_eq!(help, "declare it; the entities are `User`");
        let help = help_for_unknown("Zzz", &[], "entities", || "declare it".to_string());
        assert_eq!(help, "declare it");
    }
}
