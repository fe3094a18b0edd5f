# frozen_string_literal: true

# Every public method of the Ruby binding (the generated methods of Xssh::Native's
# classes and module functions, and the hand-written layer) has documentation YARD
# knows: ruby -I<module dir> -I<lib> check_ruby_docs.rb <native_doc.rb> <lib dir>
require 'yard'
doc_file, lib = ARGV
abort 'usage: check_ruby_docs.rb native_doc.rb lib_dir' unless doc_file && lib
YARD::Registry.clear
YARD::Logger.instance.level = Logger::ERROR
# the generated methods first: the layer's `alias native_x x` then copies their text
YARD.parse([doc_file] + Dir[File.join(lib, '**', '*.rb')].reject { |f| f.end_with?('native_doc.rb') }.sort)
require 'xssh'

def documented?(path)
  obj = YARD::Registry.at(path)
  return false unless obj

  obj = obj.target if obj.is_a?(YARD::CodeObjects::Proxy)
  !obj.docstring.to_s.strip.empty?
end

checked = []
missing = []
# an alias (the layer keeps a generated method as native_<name>, also with a dynamic
# alias_method YARD cannot see) is documented by its original's text
check = lambda do |path, original = nil|
  # a leading underscore marks a test hook, not API (as check_lua_docs.lua treats it)
  next if path.split(/[#.]/).last.start_with?('_')

  checked << path
  missing << path unless documented?(path) || (original && documented?(original))
end
Xssh::Native.constants.sort.each do |c|
  cls = Xssh::Native.const_get(c)
  next unless cls.is_a?(Class)

  (cls.public_instance_methods(false) - Object.public_instance_methods).sort.each do |m|
    orig = cls.instance_method(m).original_name
    check.call("Xssh::#{c}##{m}", orig == m ? nil : "Xssh::#{c}##{orig}")
  end
end
Xssh::Native.singleton_methods.sort.each { |m| check.call("Xssh::Native.#{m}") }
Xssh.singleton_methods.sort.each { |m| check.call("Xssh.#{m}") }
puts "#{checked.size} public Ruby methods, #{missing.size} without documentation"
unless missing.empty?
  puts "undocumented: #{missing.join(', ')}"
  exit 1
end
