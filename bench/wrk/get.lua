-- GET the URL's path with the x-api-key given as the only argument (after --).
function init(args)
  wrk.headers["x-api-key"] = args[1]
end
