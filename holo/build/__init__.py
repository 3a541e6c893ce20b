"""Building: deciding what to compile, compiling it in the agent, writing and loading the result."""
