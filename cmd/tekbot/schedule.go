package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"tekbot/schedule"
)

func scheduleCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("schedule", "schedule -f tekbot.yaml [--from YYYY-MM-DD] [--days N] [--csv]\n"+
		"       tekbot schedule -names a,b,c -start-date YYYY-MM-DD [-start-name b] [-days N] [-overrides f.csv]", stderr)
	file := fs.String("f", "", "config file whose rotation to print")
	from := fs.String("from", "", "first date (default: today in the rotation's time zone)")
	days := fs.Int("days", 0, "number of calendar days (default 14; with -names, 365 as Tekton's tool)")
	csvOut := fs.Bool("csv", false, "print Tekton's rotation.csv format (Date,User)")
	// The flags of Tekton's generate-rotation-csv, for migration.
	names := fs.String("names", "", "Tekton mode: comma-separated roster")
	startDate := fs.String("start-date", "", "Tekton mode: first date")
	startName := fs.String("start-name", "", "Tekton mode: who is on duty on the first weekday (default: first name)")
	overrides := fs.String("overrides", "", "Tekton mode: overrides CSV (date,user[,comment])")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *names != "" {
		if *days == 0 {
			*days = 365
		}
		return tektonSchedule(*names, *startDate, *startName, *days, *overrides, stdout)
	}
	if *file == "" {
		fs.Usage()
		return exitCode(2)
	}
	cfg, err := loadConfig(*file)
	if err != nil {
		return err
	}
	rot, err := cfg.Rotation.Schedule()
	if err != nil {
		return err
	}
	first := schedule.DateOf(time.Now(), rot.Location)
	if *from != "" {
		if first, err = schedule.ParseDate(*from); err != nil {
			return fmt.Errorf("--from: %w", err)
		}
	}
	if *days == 0 {
		*days = 14
	}
	if *days < 0 || *days > 3660 {
		return fmt.Errorf("--days must be from 1 to 3660")
	}
	if *csvOut {
		entries := make([]schedule.Entry, *days)
		for i := range entries {
			d := rot.Day(first.AddDays(i))
			entries[i] = schedule.Entry{Date: d.Date, User: d.Person}
		}
		return schedule.WriteRotationCSV(stdout, entries)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "DATE\tDAY\tCAPTAIN\tNOTE\n")
	for i := range *days {
		d := rot.Day(first.AddDays(i))
		note := ""
		if d.Reason != schedule.ReasonOnDuty {
			note = d.Reason.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Date, d.Date.Weekday().String()[:3], orDash(d.Person), note)
	}
	if end, ok := rot.Ends(); ok {
		fmt.Fprintf(tw, "\nThe rotation data ends on %s.\n", end)
	}
	return tw.Flush()
}

func tektonSchedule(names, startDate, startName string, days int, overridesFile string, stdout io.Writer) error {
	start, err := schedule.ParseDate(startDate)
	if err != nil {
		return fmt.Errorf("-start-date: %w", err)
	}
	var ov map[schedule.Date]schedule.Override
	if overridesFile != "" {
		f, err := os.Open(overridesFile)
		if err != nil {
			return fmt.Errorf("-overrides: %w", err)
		}
		defer f.Close()
		if ov, err = schedule.ReadOverridesCSV(f); err != nil {
			return fmt.Errorf("-overrides %s: %w", overridesFile, err)
		}
	}
	entries, err := schedule.Generate(strings.Split(names, ","), start, startName, days, ov)
	if err != nil {
		return err
	}
	return schedule.WriteRotationCSV(stdout, entries)
}
