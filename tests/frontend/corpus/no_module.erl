%% A module file that forgot its -module attribute.
f() -> ok.
%% expect: H0102 @ 2
%% expect: H0211 @ 2
