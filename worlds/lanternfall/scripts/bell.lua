-- The clocktower's great bell tolls on a timer, and anyone in the belfry
-- may ring it by hand. A room has no voice of its own: say() and emote()
-- show its text to the room as it is.

every(60, function()
  emote("The great bell swings overhead and tolls, long and low, until the beams hum.")
end)

function on_command(actor, verb, rest)
  local rung = (state.get("rung") or 0) + 1
  state.set("rung", rung)
  emote(actor.name .. " hauls on the rope. BONG. The bell has been rung by hand " .. rung .. " times.")
end
