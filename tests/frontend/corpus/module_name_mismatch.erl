-module(module_name_mismtach).
%% expect: H0214 @ 1
