-- Every public function of the Lua module (xssh.*, and every method of every class,
-- generated or hand-written) has documentation in the LuaCATS annotations
-- (lua5.4 check_lua_docs.lua ANNOTATIONS; package paths set to the module under test).
local path = assert(arg[1], "usage: check_lua_docs.lua xssh_annotations.lua")
local xssh = require "xssh"
local core = xssh.core
local f = assert(io.open(path)); local text = f:read("a"); f:close()
assert(load(text, "=" .. path), "the annotations are not valid Lua")

-- documented[name] = true when `function name(` is preceded by text (not only tags)
local documented, lines = {}, {}
for line in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
for i, line in ipairs(lines) do
  local name = line:match("^function ([%w_.:]+)%(")
  if name then
    local j, has_text = i - 1, false
    while j > 0 and lines[j]:match("^%-%-%-") do
      local t = lines[j]:gsub("^%-%-%-%s*", "")
      if t ~= "" and not t:match("^@") and t ~= "(undocumented)" then has_text = true end
      j = j - 1
    end
    documented[name] = has_text
  end
end

local missing, count = {}, 0
local function need(name)
  count = count + 1
  if not documented[name] then missing[#missing + 1] = name end
end
for k, v in pairs(xssh) do
  if type(k) == "string" and k:sub(1, 1) ~= "_" and type(v) == "function" then need("xssh." .. k) end
end
for k in pairs(core) do
  if type(k) == "string" and k:sub(1, 1) ~= "_" then
    local ok, mt = pcall(core._class_metatable, k)
    if ok and type(mt) == "table" and type(mt[".fn"]) == "table" then
      for m, fn in pairs(mt[".fn"]) do
        if type(m) == "string" and m:sub(1, 2) ~= "__" and type(fn) == "function" then need("xssh." .. k .. ":" .. m) end
      end
    end
  end
end
table.sort(missing)
print(string.format("%d public Lua functions and methods, %d without documentation", count, #missing))
if #missing > 0 then
  print("undocumented: " .. table.concat(missing, ", "))
  os.exit(1)
end
