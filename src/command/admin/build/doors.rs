//! Building doors: `/door <exit> <name> [locked <key item>]` and `/undoor
//! <exit>`, each an order for the game's build action. A door is written on
//! the side it is put on and is the door of the way back too; `/undoor`
//! takes it off whichever side declares it. Both are undone by `/undo`.

use super::super::super::Ctx;
use super::super::super::parse::split_word;
use super::super::super::spec::{Group, Needs, Spec, done};
use super::build_here;
use crate::auth::Role;
use crate::world::plan::Order;

pub static DOOR: Spec = Spec {
    name: "door",
    usage: "/door <exit> <name> [locked <key item>]",
    summary: "Put a door on an exit here (the way back's door too), closed, or locked by a key.",
    details: "Puts a door called <name> on an exit of this room; it is the door of the way\nback too. It starts closed; with \"locked <key item>\" (the item's id or name) it\nstarts locked, and that item locks and unlocks it.",
    example: "/door south iron door locked brass_key",
    needs: Needs::Text,
    run: |ctx, spec, args| done(door(ctx, spec, args)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

pub static UNDOOR: Spec = Spec {
    name: "undoor",
    usage: "/undoor <exit>",
    summary: "Take the door off an exit here (from both sides).",
    details: "Takes the door off an exit of this room, on whichever side it was declared;\nthe exit stays, open to all.",
    example: "/undoor south",
    needs: Needs::Text,
    run: |ctx, _, args| {
        let order = Order::Undoor {
            exit: args.to_string(),
        };
        done(build_here(ctx, UNDOOR.name, order))
    },
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

/// `<name> [locked <key>]`: the name, and the key after the last word
/// `locked` that has something after it.
fn name_and_key(text: &str) -> Option<(String, Option<String>)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let at = words
        .iter()
        .rposition(|word| word.eq_ignore_ascii_case("locked"));
    match at {
        Some(at) if at > 0 && at + 1 < words.len() => {
            Some((words[..at].join(" "), Some(words[at + 1..].join(" "))))
        }
        Some(at) if at + 1 == words.len() => None,
        _ if words.is_empty() => None,
        _ => Some((words.join(" "), None)),
    }
}

/// `/door <exit> <name> [locked <key item>]`.
async fn door(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let (exit, rest) = split_word(args);
    let Some((name, key)) = name_and_key(rest) else {
        return ctx.reply(format!("Usage: {}", spec.usage));
    };
    let order = Order::Door {
        exit: exit.to_string(),
        name,
        key,
    };
    build_here(ctx, spec.name, order).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_door_is_named_and_locked_by_the_words_after_the_last_locked() {
        let split = |text| name_and_key(text);
        let some =
            |name: &str, key: Option<&str>| Some((name.to_string(), key.map(str::to_string)));
        assert_eq!(split("iron door"), some("iron door", None));
        assert_eq!(
            split("iron door locked brass key"),
            some("iron door", Some("brass key"))
        );
        assert_eq!(
            split("locked door locked key"),
            some("locked door", Some("key"))
        );
        assert_eq!(split("door locked"), None);
        assert_eq!(split("locked key"), some("locked key", None));
        assert_eq!(split(""), None);
    }
}
