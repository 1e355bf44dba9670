-- Wick the lamplighter walks his round of the Heights every evening:
-- up the Crooked Stair, along the Widows' Walk, up to the Lamp Room and
-- back down again, a word at every lamp. Where he is on the round is kept
-- in his state, so a restart finds him where he left off.

local round = {
  { line = "Evening. Mind the stair; the third step is loose.", way = "north" },
  { line = "There she goes.", act = "lifts his pole and touches a lamp to flame.", way = "east" },
  { line = "Up we go. The big one wants trimming.", way = "up" },
  { act = "trims the great wick with care, squinting against the glare.", way = "down" },
  { line = "Sea's quiet tonight.", way = "west" },
  { act = "pauses to light the last lamp on the walk.", way = "south" },
}

local walking = false

local function step()
  if walking then
    return
  end
  walking = true
  local n = state.get("step") or 1
  local here = round[n]
  if here.line then
    say(here.line)
  end
  if here.act then
    wait(3)
    emote(here.act)
  end
  wait(3)
  move(here.way)
  state.set("step", n % #round + 1)
  walking = false
end

every(30, step)

function on_enter(actor)
  if not actor.npc then
    say("Evening, " .. actor.name .. ".")
  end
end

function on_command(actor, verb, rest)
  tell(actor, "Lamps? Forty-one on my round, and every one has a name.")
end
