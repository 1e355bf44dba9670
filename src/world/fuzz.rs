//! The building validator under random orders, for the fuzzer and the unit
//! tests: [`check_builds`] reads a sequence of builder orders (and undos) out
//! of arbitrary bytes and applies them one by one to a loaded world, in
//! memory. Each must be refused, or leave a world that passes the loader's
//! checks, whose files print and read back to that same world, that every
//! crash between two of its file writes leaves loadable, and that its undo
//! takes back to exactly the documents before. Nothing is written to disk.

use std::path::PathBuf;

use super::edit::Edit;
use super::model::{RoomId, World};
use super::plan::{self, Order};
use super::source::{Checked, WorldSource};

/// Applies the orders `data` spells out to `world`; `Err` says what broke
/// (a bug in the validator or the edits), `Ok` when every order was refused
/// or kept the world whole, with how many were kept.
pub fn check_builds(world: &World, data: &[u8]) -> Result<usize, String> {
    let mut bytes = Bytes { data, at: 0 };
    let mut world = world.clone();
    let mut undos: Vec<Vec<Edit>> = Vec::new();
    let mut kept = 0;
    for step in 0.. {
        if bytes.done() {
            break;
        }
        // An undo of any earlier change, not only the last: one that no
        // longer fits must be refused.
        let undo = bytes.next().is_multiple_of(8);
        let edits = if undo {
            if undos.is_empty() {
                continue;
            }
            undos.remove(bytes.below(undos.len()))
        } else {
            let here = pick_room(&world, &mut bytes);
            let order = pick_order(&world, &mut bytes);
            match plan::plan(&world, &here, &order) {
                Ok(plan) => plan.edits,
                Err(_) => continue,
            }
        };
        let Some((after, inverse)) = accepted(&world, &edits)? else {
            continue;
        };
        check_inverse(&world, &after, &inverse).map_err(|e| format!("step {step}: {e}"))?;
        check_crash_states(&world, &after).map_err(|e| format!("step {step}: {e}"))?;
        if !undo {
            undos.push(inverse);
        }
        let mut written = WorldSource::clone(after.source());
        written.as_if_written();
        world = World {
            source: std::sync::Arc::new(written),
            ..after
        };
        kept += 1;
    }
    Ok(kept)
}

/// Applies `edits` as a build does; `None` when refused, else the changed
/// world (already re-read from its printed files) and the edits that undo it.
fn accepted(world: &World, edits: &[Edit]) -> Result<Option<(World, Vec<Edit>)>, String> {
    let mut source = WorldSource::clone(world.source());
    let Ok(inverse) = source.apply_all(edits) else {
        return Ok(None);
    };
    let Ok(checked) = source.check() else {
        return Ok(None);
    };
    if plan::keeps_a_way_out(world, checked.world()).is_err() {
        return Ok(None);
    }
    let reread = reread(&checked)?;
    if reread != *checked.world() {
        return Err("the printed files read back to another world".to_string());
    }
    Ok(Some((reread, inverse)))
}

/// The checked world's documents printed in the canonical layout and read
/// again, as `check-worlds` would read the files.
fn reread(checked: &Checked) -> Result<World, String> {
    let mut source = WorldSource::clone(checked.world().source());
    for file in checked.world().source().files().to_vec() {
        let text = file.doc().to_canonical();
        let doc = super::json::Json::parse(&text).map_err(|e| e.to_string())?;
        if let Some(slot) = source.doc_mut(file.name()) {
            *slot = doc;
        }
    }
    source.build().map_err(|errs| {
        format!(
            "check-worlds refuses the result: {}",
            super::list_errors(&errs)
        )
    })
}

/// The undo of an accepted change passes the checks and gives back exactly
/// the documents before it.
fn check_inverse(before: &World, after: &World, inverse: &[Edit]) -> Result<(), String> {
    let mut source = WorldSource::clone(after.source());
    source
        .apply_all(inverse)
        .map_err(|e| format!("the undo does not apply: {e}"))?;
    let docs = |source: &WorldSource| {
        let mut docs: Vec<(PathBuf, String)> = source
            .files()
            .iter()
            .map(|f| (f.name().to_path_buf(), f.doc().to_canonical()))
            .collect();
        docs.sort();
        docs
    };
    let (undone, was) = (docs(&source), docs(before.source()));
    if undone != was {
        let differs: Vec<String> = undone
            .iter()
            .zip(&was)
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("{}:\n{}\n---\n{}", a.0.display(), a.1, b.1))
            .collect();
        return Err(format!(
            "the undo {inverse:?} does not give back the documents before: {}",
            differs.join("\n")
        ));
    }
    source
        .build()
        .map(drop)
        .map_err(|errs| format!("the undo does not load: {}", super::list_errors(&errs)))
}

/// Every state a crash can leave while the change's files are written in
/// the writer's order (some written, the rest as before) loads.
fn check_crash_states(before: &World, after: &World) -> Result<(), String> {
    let order = after.source().write_order();
    let mut state = WorldSource::clone(before.source());
    for name in order {
        let doc = after.source().file(&name).map(|f| f.doc().clone());
        match doc {
            Some(doc) => {
                if let Some(slot) = state.doc_mut(&name) {
                    *slot = doc;
                } else {
                    state.add_file(&name, doc);
                }
            }
            // Removed: an unlisted file is never read, so its removal is
            // no state of its own.
            None => continue,
        }
        if let Err(errs) = state.build() {
            return Err(format!(
                "a crash after writing {} leaves files that do not load: {}",
                name.display(),
                super::list_errors(&errs)
            ));
        }
    }
    Ok(())
}

/// A cursor over the fuzzer's bytes; zeros once they are used up.
struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bytes<'_> {
    fn done(&self) -> bool {
        self.at >= self.data.len()
    }

    fn next(&mut self) -> u8 {
        let byte = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        byte
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        usize::from(u16::from_le_bytes([self.next(), self.next()])) % n
    }

    fn pick<'w>(&mut self, from: &[&'w str]) -> &'w str {
        from[self.below(from.len())]
    }

    /// A text from a few likely and unlikely ones, or made of the bytes.
    fn text(&mut self, likely: &[&str]) -> String {
        match self.below(4) {
            0 => {
                let len = self.below(120);
                let alphabet = ['a', 'Z', ' ', ':', '_', '"', '\\', 'é', '9', '-'];
                (0..len)
                    .map(|_| alphabet[self.below(alphabet.len())])
                    .collect()
            }
            _ => self.pick(likely).to_string(),
        }
    }
}

const NAMES: &[&str] = &[
    "The Cellar",
    "Lantern Square",
    "A Long Name That Goes On And On And On And On And On And On And On And On And Past",
    "",
    "   ",
    "Ünïcode Hall",
    "room",
    "x",
];

const EXITS: &[&str] = &[
    "north", "n", "S", "up", "d", "in", "Out", "ne", "door", "", "a:b", "NORTH",
];

fn pick_room(world: &World, bytes: &mut Bytes) -> RoomId {
    let mut rooms: Vec<&RoomId> = world.rooms.keys().collect();
    rooms.sort();
    match rooms.get(bytes.below(rooms.len() + 1)) {
        Some(room) => (*room).clone(),
        None => RoomId::new("nowhere", "at_all"),
    }
}

fn pick_item(world: &World, bytes: &mut Bytes) -> std::sync::Arc<str> {
    let mut items: Vec<&std::sync::Arc<str>> = world.items.keys().collect();
    items.sort();
    match items.get(bytes.below(items.len() + 1)) {
        Some(item) => (*item).clone(),
        None => std::sync::Arc::from("no_such:item"),
    }
}

fn pick_order(world: &World, bytes: &mut Bytes) -> Order {
    match bytes.below(11) {
        0 => Order::Dig {
            exit: bytes.text(EXITS),
            name: bytes.text(NAMES),
        },
        1 => {
            let to = pick_room(world, bytes);
            let to = match bytes.below(3) {
                0 => to.local().to_string(),
                1 => to.to_string(),
                _ => bytes.text(NAMES),
            };
            Order::Link {
                exit: bytes.text(EXITS),
                to,
                both: bytes.next().is_multiple_of(2),
            }
        }
        2 => Order::Unlink {
            exit: bytes.text(EXITS),
        },
        3 => Order::RoomName(bytes.text(NAMES)),
        4 => Order::RoomDescription(bytes.text(NAMES)),
        5 => Order::RoomDestroy,
        6 => Order::Create {
            name: bytes.text(NAMES),
        },
        7 => Order::ItemName {
            item: pick_item(world, bytes),
            name: bytes.text(NAMES),
        },
        8 => Order::ItemDescription {
            item: pick_item(world, bytes),
            text: bytes.text(NAMES),
        },
        9 => Order::Destroy {
            item: pick_item(world, bytes),
        },
        _ => Order::Zone {
            id: bytes.text(&["cellars", "old_town", "Bad Id", "", "z9"]),
            name: bytes.text(NAMES),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::test_rng::Rng;

    fn loaded(path: &str) -> Vec<World> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        let loaded = super::super::load(&dir, None).expect("the worlds load");
        loaded.worlds.iter().map(|w| World::clone(w)).collect()
    }

    #[test]
    fn random_builds_are_refused_or_keep_the_world_whole() {
        let mut worlds = loaded("worlds");
        worlds.extend(loaded("tests/fixtures/pipeworks_worlds"));
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for world in &worlds {
            let mut kept = 0;
            for _ in 0..20 {
                let data: Vec<u8> = (0..600).map(|_| rng.next() as u8).collect();
                match check_builds(world, &data) {
                    Ok(n) => kept += n,
                    Err(broke) => panic!("{}: {broke}\nbytes: {data:?}", world.id),
                }
            }
            assert!(kept > 60, "{}: only {kept} builds were kept", world.id);
        }
    }

    #[test]
    fn no_bytes_is_no_build() {
        let world = &loaded("worlds")[0];
        assert_eq!(check_builds(world, &[]), Ok(0));
    }
}
