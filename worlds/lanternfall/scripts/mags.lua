-- Mags keeps the Drowned Lantern and answers a few words said at her bar.

local answers = {
  { word = "hello", reply = "Evening, love. Sit where you like, mind the puddles." },
  { word = "ale", reply = "Ale's from Harrow's brewery. Strong enough to float a lantern." },
  { word = "drink", reply = "Ale or nothing, and the nothing's dearer." },
  { word = "lantern", reply = "This place is named for the one that went into the harbour. Still burning down there, they say." },
  { word = "bell", reply = "That's the clocktower. You can ring it yourself if you climb up. Everybody does, once." },
  { word = "wick", reply = "Wick? Up on the Heights every night, lighting his lamps. Never misses." },
}

function on_say(actor, text)
  local said = string.lower(text)
  for _, answer in ipairs(answers) do
    if string.find(said, answer.word, 1, true) then
      say(answer.reply)
      return
    end
  end
end

function on_give(actor, item)
  say("For me? You're a dear, " .. actor.name .. ".")
end
