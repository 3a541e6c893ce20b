-module(encoding_invalid).
-export([name/0]).

%% A Latin-1 byte in a file without a coding comment.
name() -> "José".
%% expect: H0101 @ 5
