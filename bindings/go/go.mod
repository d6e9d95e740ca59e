module stevedore.dev/stevedore

go 1.19
