-- A brass lever in the Valve Chamber. Pulling it swings the outflow valve
-- open or shut; the door it works is opened and closed through open() and
-- close().

function on_command(actor, verb, rest)
  local open_now = not state.get("open")
  state.set("open", open_now)
  if open_now then
    emote(actor.name .. " hauls the brass lever down. Somewhere east, a valve groans open.")
    open("east")
  else
    emote(actor.name .. " shoves the brass lever up. Somewhere east, a valve clangs shut.")
    close("east")
  end
end
